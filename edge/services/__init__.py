"""Local services: each opens one ledger transaction, applies a pure rule, and writes
the state change and its ops together (the transactional outbox)."""
