"""Credit-line re-evaluation: active lines re-scored by the decisions' own policy.

``contract`` is what the workflow calls (pure), ``terms`` compares the policy's terms with the
line's (pure), ``store`` holds the SQL (due lines, the append-only change rows, applying a change).
"""
