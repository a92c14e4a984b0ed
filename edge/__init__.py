"""The edge node of a store or warehouse: the local SQLite ledger, the services staff
use (receiving, sales), the LAN web UI and JSON API, and the sync agent that carries
the ledger's ops to the hub over MQTT. Keeps working with the internet down.

Imports sync_protocol, devices (event schemas) and web_ui; never cloud."""
