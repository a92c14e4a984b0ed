"""The audit trail: who did what, when, where, and who authorised it, read from the op
log itself. Every write is already a signed op naming its actor, origin and stamp, so
the trail is a view of the ops of the kinds worth auditing, not a second record that
could disagree with them: on the hub it covers every node; on a node, its own ops and
what it received, within what compaction has kept (docs/compaction.md)."""
