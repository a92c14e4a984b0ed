"""The hub: ingests every node's ops over MQTT, verifies them against the registry of
node keys, relays the hub's own ops (catalog…) to the nodes, and serves the HQ console
(consolidated stock, nodes and their sync state). Imports sync_protocol and web_ui;
never edge."""
