"""The broker runner is shared with `shopfloor demo`; tests import it from here."""

from shopfloor_cli.broker import (
    BrokerFallbackWarning,
    BrokerKind,
    BrokerProcess,
    TlsListener,
    detect_kind,
    find_mosquitto,
    running_broker,
)

__all__ = [
    "BrokerFallbackWarning",
    "BrokerKind",
    "BrokerProcess",
    "TlsListener",
    "detect_kind",
    "find_mosquitto",
    "running_broker",
]
