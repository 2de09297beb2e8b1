"""Relational storage: SQLModel tables and engine/session factories."""
