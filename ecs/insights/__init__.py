"""Analyst insights: emotion trends, credit outcomes, model score drift and the fairness monitor.

One module per capability holds its formulas and the dataclasses it returns, pure (no I/O) so
every number a reviewer might question is unit-tested with hand-computed inputs:
``trends`` (emotion trends), ``credit`` (outcomes and the limit distribution), ``drift`` (weekly
score percentiles and the PSI), ``fairness`` (the distress split and the rate-parity check),
``anonymity`` (the k-anonymity rule, written once) and ``measures`` (rounding shared by all).

The SQL that fetches the aggregates lives apart, in ``*_queries.py`` (and ``window.py``, the
decision records credit and model insights read). It aggregates where the SQL is the same on
PostgreSQL and SQLite (``GROUP BY``, ``CASE``, ``COUNT(DISTINCT ...)``, ``ROUND``) and hands
small grouped results to the formulas; what is not portable (percentiles, JSON arrays and JSON
fields) is done in Python over grouped or window-bounded rows.

Only aggregates ever leave this package: no user id, e-mail or single person's reading is part
of any report, and emotion aggregates are k-anonymous. The package knows nothing of HTTP: the
API's response models (``api/schemas/insights.py``) are built from these dataclasses.
"""
