"""Pure credit-domain core.

Everything under ``ecs.domain`` is imported inside the Temporal workflow sandbox and travels
through the pydantic data converter, so it may depend only on the standard library and pydantic:
no I/O, no clocks (``as_of`` is always an argument), no numeric libraries.
"""
