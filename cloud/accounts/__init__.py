"""HQ's own accounts at the hub: users with passwords and roles. Hub state, not
replicated: a node's staff are `domain.staff`; this table lives in the hub-only
`accounts` branch. Their sessions and the API tokens are `domain.access`."""
