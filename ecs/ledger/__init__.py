"""The ledger feed: the only way financial history enters ECS.

A lender judges a borrower by its own ledger (the payment platform's transactions), never by
what the borrower says: when customers could post their own transactions, one R$ 0.01 entry dated
2000 cut the risk score by 65 %. The ledger authenticates as a service, sends batches keyed by
its own transaction ids (a replay inserts nothing twice), and every entry is checked for
plausibility before it can reach a credit decision.

``entries`` holds the wire shape and per-entry outcomes, ``plausibility`` the pure rules, and
``feed`` the service that authenticates the ledger and records a batch idempotently.
"""
