"""Empathic Credit System: shared core (settings, data model, domain, stream, Temporal glue)."""
