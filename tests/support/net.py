"""Port helpers are shared with `shopfloor demo`; tests import them from here."""

from shopfloor_cli.net import (
    LOCALHOST,
    free_port,
    port_accepts,
    wait_for_port,
    wait_for_port_closed,
)

__all__ = ["LOCALHOST", "free_port", "port_accepts", "wait_for_port", "wait_for_port_closed"]
