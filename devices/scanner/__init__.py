"""Barcode scanners: keyboard-wedge (evdev) and serial, sharing one ScanEvent output."""

from devices.scanner.decoder import DecoderConfig, ScanDecoder
from devices.scanner.evdev_scanner import (
    EvdevScanner,
    ScannerCandidate,
    decoder_config,
    list_scanner_candidates,
)
from devices.scanner.serial_scanner import SerialScanner

__all__ = [
    "DecoderConfig",
    "EvdevScanner",
    "ScanDecoder",
    "ScannerCandidate",
    "SerialScanner",
    "decoder_config",
    "list_scanner_candidates",
]
