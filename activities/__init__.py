"""All I/O the credit workflow needs, as Temporal activities.

This package's ``__init__`` stays empty: workflows import ``activities.messages`` inside the
sandbox, and importing the package must not drag in the database or HTTP clients. The worker
builds the activities from ``activities.registry``.
"""
