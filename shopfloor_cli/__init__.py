"""The `shopfloor` command: one entry point whose subcommands start an edge node, a
hub, the device agent or the whole demo. It only wires packages together (edge and
cloud never import each other, so the command that can start either lives apart)."""
