"""Accounts: who may use ECS and what they may ask of their own data, free of HTTP.

``users`` registers and authenticates, ``passwords`` hashes, ``tokens`` issues and verifies the
bearer tokens; ``consent``, ``export`` and ``erasure`` are the data-subject rights of LGPD Art. 18.
The services raise ``ecs.errors`` domain errors and return rows or small dataclasses; the API and
the ``ecs`` command line translate them, so neither can disagree with the other about a rule.
"""
