"""The business facts that nodes and the hub share, one subpackage per area (catalog,
stock, sales …). Each area declares its op kinds and their versioned bodies, its pure
rules and folds, its SQLModel tables, its projection (incremental apply, rebuild) and
its Alembic migrations; `domain.registry` lists the areas and hands them to the op
store. Imports `sync_protocol` only."""
