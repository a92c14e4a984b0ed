"""Hub workers: which worker runs which node's sync session (leases), and the hub-only
part of the hub's schema. docs/hub-workers.md has the design."""
