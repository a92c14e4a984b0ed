"""The replication library: ops, hybrid logical clocks, canonical codec, signing,
version vectors, CRDT merge rules, the replica store and the sans-I/O sync session.

Imports nothing else of Shopfloor's. `edge` and `cloud` both build on it, so every
business rule the two sides must agree on (what an op means, how it folds) lives here.
"""
