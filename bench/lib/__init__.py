"""What the benchmarks share: starting and stopping their processes (``stack``), the services and
settings of a run (``services``), load shapes and latency statistics (``loops``, ``stats``), a raw
HTTP/1.1 load generator (``rawhttp``), the bare comparison workflow (``bare``), workflow-history
breakdowns (``histories``) and the machine a run ran on (``machine``).

Empty on purpose: the Temporal sandbox re-imports ``bench.lib.bare`` for every bare workflow run,
and an import here would be re-executed each time.
"""
