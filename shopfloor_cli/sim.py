"""`shopfloor sim --seed N`: replay one deterministic sync simulation."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sim", help="replay a deterministic sync simulation by seed")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--writes", type=int, default=120)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from domain.simulation import run

    report = run(args.seed, nodes=args.nodes, writes=args.writes)
    print(report)
    return 0 if report.converged else 1
