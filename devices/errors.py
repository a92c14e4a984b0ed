"""Errors raised by device drivers.

The tree, root first::

    DeviceError            anything a driver raises on purpose
    ├── DeviceUnavailable  the port or device is gone or will not open
    ├── ProtocolError      the device (or a config) does not follow the expected wire format
    ├── CommandRejected    the device understood a command (tare, zero) and refused it
    └── InvalidEvent       a device-event payload (e.g. from MQTT) is malformed

Each error says what happened and what to do; the agent maps them to a DeviceStatus.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Root of every error a driver raises on purpose; catch this to handle any device fault."""


class DeviceUnavailable(DeviceError):
    """The device could not be opened or disappeared (unplugged, powered off, permission denied).

    What to do: report the device offline, close it, and try to open it again later; the
    driver holds no state that survives this, so a fresh ``open()`` is all a retry needs.
    """


class ProtocolError(DeviceError):
    """The device sent something we cannot use, or was asked for something its protocol lacks.

    Examples: a scale reporting in pounds, an error reply such as SICS ``ES``, a tare request
    to a continuous-output scale. What to do: check the device's configuration (protocol,
    unit, baud rate) against the driver's settings; retrying unchanged will fail the same way.
    """


class CommandRejected(DeviceError):
    """The device understood a command and refused it (e.g. tare while the load is moving).

    What to do: tell the operator (steady the load, empty the platter) and let them retry.
    """


class InvalidEvent(DeviceError, ValueError):
    """A device-event payload is malformed (missing field, wrong type, unknown ``type``).

    What to do: record the payload and drop it; never guess the missing parts.
    """
