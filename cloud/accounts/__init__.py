"""HQ's own accounts at the hub: users with passwords and roles, their browser sessions
and the API tokens of tills, scripts and integrations. Hub state, not replicated: a
node's staff are `domain.staff`; these tables live in the hub-only `accounts` branch."""
