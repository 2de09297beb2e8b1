"""The user's inbox and its live delivery to the app.

The ``notifications`` table is the durable record (``inbox``): every row has a per-user ``seq``
in commit order. After committing a row, the writer publishes it on a Redis channel
(``events``); every API instance holds one subscription and hands each event to the streams of
that user it serves (``hub``). Delivery is at-least-once and the stream skips what it has
already sent, so a lost publish or a reconnect costs latency, never a notification.
"""
