"""Which readings are worth publishing: each settled weight once, not every frame. Pure.

A scale streams or answers many times a second. Downstream (a POS lane pricing an
item) wants one event when the weight settles, another when it settles at a different
weight, and one when the load was lifted and put back (the scale went unstable in
between, so a new settle of the same weight is a new weighing). Overload and underload
are published once when they start. Optionally (``publish_unstable``) moving weights are
published too, whenever the figure changes, for a live display.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.scale.readings import Reading


@dataclass(frozen=True, slots=True)
class SettleConfig:
    # Stable figures within this many grams of the last published one are the same settle.
    delta_grams: int = 0
    # Publish the same weight again after the scale moved and settled back on it.
    republish_after_motion: bool = True
    publish_unstable: bool = False


@dataclass(slots=True)
class SettleFilter:
    config: SettleConfig = field(default_factory=SettleConfig)
    _last_stable: tuple[int, int] | None = None  # (grams, tare) last published as stable
    _moved: bool = True  # the scale moved (or we just started) since the last publish
    _last_alarm: str | None = None
    _last_unstable: int | None = None

    def reset(self) -> None:
        """Start over, e.g. after reopening the port: the next settle is published."""
        self._last_stable, self._moved = None, True
        self._last_alarm = self._last_unstable = None

    def offer(self, reading: Reading, tare_grams: int = 0) -> bool:
        """True if this reading should be published."""
        if reading.overload or reading.underload:
            alarm = "over" if reading.overload else "under"
            new = alarm != self._last_alarm
            self._last_alarm, self._moved = alarm, True
            return new
        self._last_alarm = None
        if not reading.stable:
            self._moved = True
            return self._offer_unstable(reading.grams)
        if reading.grams is None:
            return False  # "stable" with no figure tells the listener nothing
        self._last_unstable = None
        key = (reading.grams, tare_grams)
        if self._should_publish(key):
            self._last_stable, self._moved = key, False
            return True
        return False

    def _should_publish(self, key: tuple[int, int]) -> bool:
        last = self._last_stable
        if last is None:
            return True
        if self._moved and self.config.republish_after_motion:
            return True
        return abs(key[0] - last[0]) > self.config.delta_grams or key[1] != last[1]

    def _offer_unstable(self, grams: int | None) -> bool:
        if not self.config.publish_unstable or grams is None or grams == self._last_unstable:
            return False
        self._last_unstable = grams
        return True
