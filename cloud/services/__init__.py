"""Hub-side services that author the hub's own ops."""
