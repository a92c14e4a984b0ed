"""Resident memory of processes, read from /proc, and the table that reports it.

Memory is not a rate, so it has a table of its own beside ``report.py``'s: one row per
process, its RSS in each phase of the benchmark (the highest of the samples taken in
that phase), the sum of the processes that share a budget, and that budget. It goes
through the same ``Results`` (printed when added, written to the JSON); the session
summary gets its lines from :func:`memory_summary`.

    sampler = RssSampler({"node": node_pid, "agent": agent_pid, "broker": broker_pid})
    with sampler.phase("idle"):
        time.sleep(5)
    table = MemoryTable("Pi rig", "node + agent + broker", ["node", "agent", "broker"],
                        budget_mib=150, phases=sampler.phases)

VmRSS counts every resident page of a process, shared ones (the interpreter's binary,
extension modules) included, so a sum counts them once per process: the budget is in
these terms, as ``ps`` and ``top`` show them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.bench.report import Results, Table

KIB_PER_MIB = 1024


def _status_kib(pid: int, key: str) -> int:
    """A ``<key>: <n> kB`` line of ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {key} line")


def rss_kib(pid: int) -> int:
    """What the process has in RAM now (VmRSS), in KiB."""
    return _status_kib(pid, "VmRSS")


def peak_rss_kib(pid: int) -> int:
    """The most the process ever had in RAM (VmHWM, startup included), in KiB."""
    return _status_kib(pid, "VmHWM")


def mib(kib: float) -> str:
    return f"{kib / KIB_PER_MIB:.1f}"


@dataclass
class Phase:
    """The RSS samples of one phase: per process, and their sum at each instant."""

    name: str
    samples: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, list[int]] = field(default_factory=dict)  # group label → sums

    def peak(self, process: str) -> int:
        return max(self.samples[process])

    def peak_sum(self, group: str) -> int:
        return max(self.sums[group])


class RssSampler:
    """Reads the VmRSS of named processes every ``every`` seconds while a phase runs.

    The sum of a group is taken from the same sampling instant, so its peak is the most
    the group held at once (not the sum of each process's own peak)."""

    def __init__(
        self,
        pids: Mapping[str, int],
        groups: Mapping[str, Sequence[str]],
        *,
        every: float = 0.1,
    ) -> None:
        self.pids = dict(pids)
        self.groups = {label: tuple(names) for label, names in groups.items()}
        self.every = every
        self.phases: list[Phase] = []

    def sample(self, phase: Phase) -> None:
        now = {name: rss_kib(pid) for name, pid in self.pids.items()}
        for name, kib in now.items():
            phase.samples.setdefault(name, []).append(kib)
        for label, names in self.groups.items():
            phase.sums.setdefault(label, []).append(sum(now[n] for n in names))

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        """Sample in a thread for as long as the block runs (once at least, at its end)."""
        phase = Phase(name)
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(self.every):
                self.sample(phase)

        thread = threading.Thread(target=run, name=f"rss {name}", daemon=True)
        thread.start()
        try:
            yield phase
        finally:
            stop.set()
            thread.join()
            self.sample(phase)
            self.phases.append(phase)

    def lifetime_peaks(self) -> dict[str, int]:
        return {name: peak_rss_kib(pid) for name, pid in self.pids.items()}


@dataclass
class MemoryTable(Table):
    """Processes × phases, in MiB, with a group's sum against its budget.

    ``rows`` (the rate rows of ``Table``) stays empty; ``processes`` names each sampled
    process and says what it runs."""

    processes: dict[str, str] = field(default_factory=dict)  # name → what it runs
    phases: list[Phase] = field(default_factory=list)
    group: str = ""  # the label of the sum that has the budget
    budget_mib: float = 0.0
    lifetime: dict[str, int] = field(default_factory=dict)  # name → VmHWM KiB

    def _sum_peak(self, phase: Phase) -> int:
        return phase.peak_sum(self.group)

    def render(self) -> str:
        header = ["process", *(f"{p.name} MiB" for p in self.phases), "VmHWM MiB", "runs"]
        body = [
            [
                name,
                *(mib(p.peak(name)) for p in self.phases),
                mib(self.lifetime[name]) if name in self.lifetime else "—",
                what,
            ]
            for name, what in self.processes.items()
        ]
        body.append([self.group, *(mib(self._sum_peak(p)) for p in self.phases), "", "at once"])
        body.append(["budget", *(f"{self.budget_mib:.0f}" for _ in self.phases), "", ""])
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            aligned = [
                cell.ljust(width) if i in (0, len(cells) - 1) else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(aligned).rstrip()

        out = [
            "",
            f"== {self.title} ==",
            f"baseline: {self.baseline}",
            line(header),
            line(["-" * w for w in widths]),
            *(line(cells) for cells in body),
        ]
        for phase in self.phases:
            over = self._sum_peak(phase) / KIB_PER_MIB - self.budget_mib
            verdict = f"{-over:.1f} MiB under" if over <= 0 else f"{over:.1f} MiB OVER"
            count = len(phase.sums[self.group])
            out.append(f"  {phase.name}: {count} samples, {self.group} {verdict} budget")
        out.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(out)

    def summary_lines(self) -> list[str]:
        peaks = ", ".join(f"{p.name} {mib(self._sum_peak(p))}" for p in self.phases)
        return [f"{self.title} / {self.group}: {peaks} MiB (budget {self.budget_mib:.0f})"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "baseline": self.baseline,
            "unit": "MiB",
            "budget_mib": self.budget_mib,
            "processes": [
                {
                    "name": name,
                    "runs": what,
                    **{p.name: round(p.peak(name) / KIB_PER_MIB, 1) for p in self.phases},
                    "vmhwm": round(self.lifetime.get(name, 0) / KIB_PER_MIB, 1),
                }
                for name, what in self.processes.items()
            ],
            "sum": {
                "of": self.group,
                **{p.name: round(self._sum_peak(p) / KIB_PER_MIB, 1) for p in self.phases},
            },
            "notes": self.notes,
        }


def memory_summary(results: Results) -> str:
    """The summary lines of the memory tables (``Results.summary`` lists rate rows)."""
    lines = [
        line
        for table in results.tables
        if isinstance(table, MemoryTable)
        for line in table.summary_lines()
    ]
    return "\n".join(lines)
