"""The thin HTTP front door: authenticates, validates, and hands work to Temporal / Redis / DB."""
