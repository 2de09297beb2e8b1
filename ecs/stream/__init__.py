"""The emotion firehose: API producer → Redis Stream → consumer → database (+ workflow signals).

Readings never pass through Temporal except as coalesced signals to decisions that are open, so
the stream's throughput is bounded by Redis and the database, not by workflow history size.
"""
