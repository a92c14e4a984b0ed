"""Simulators that speak each device's real wire format, for tests and the demo.

- ``scale_sim``: a scale on a real pty (continuous output, Toledo 8217, SICS).
- ``scanner_recordings``: recorded evdev input events of wedge scanners and of typing,
  and a device that replays them.
- ``escpos_sim``: receipt/label printers (owned by the printer driver).
"""
