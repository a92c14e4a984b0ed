"""Serial scales: pure protocol parsers (continuous, Toledo 8217, SICS) and the driver."""

from devices.scale.driver import ScaleConfig, ScaleDriver, ScaleOutput
from devices.scale.protocols import PROTOCOLS, protocol_spec
from devices.scale.readings import Fault, Reading, Reply
from devices.scale.settle import SettleConfig, SettleFilter

__all__ = [
    "PROTOCOLS",
    "Fault",
    "Reading",
    "Reply",
    "ScaleConfig",
    "ScaleDriver",
    "ScaleOutput",
    "SettleConfig",
    "SettleFilter",
    "protocol_spec",
]
