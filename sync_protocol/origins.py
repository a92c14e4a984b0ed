"""The one origin id the protocol gives a meaning: the hub's. Its ops (the catalog, staff
accounts…) are relayed to every node; every other origin is a node, whose ops reach the
hub and go no further."""

from typing import Final

HUB: Final = "cloud"
