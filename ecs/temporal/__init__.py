"""Temporal glue: client factory, data converter and the payload-encryption codec."""
