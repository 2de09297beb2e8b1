"""The credit capability's application layer: what the API (and any other front door) calls.

``service`` holds the use cases; ``engine`` is everything that talks to Temporal; ``claims``
and ``queries`` are the database writes and reads; ``projection`` closes the records of a
workflow that died; ``views`` is the one mapping from a decision to what a client sees. Nothing
here knows HTTP: refusals are ``ecs.errors`` domain errors, mapped to statuses in ``api/``.
"""
