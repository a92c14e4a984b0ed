"""Both apps' JSON APIs against their own OpenAPI documents, by schemathesis (its CLI,
`st run`, against the app served on a real socket): every phase (the documented
examples, boundary coverage, random valid and invalid requests, and stateful runs that
follow the OpenAPI links: receive → sell → retry the sale) and every check. So: no
server error, no answer outside the documented schema or status codes, invalid input
always refused with a 4xx, and valid input never refused as invalid.

The quick run sends ~250 examples per operation with a fixed seed; the `slow` run
(make test) sends more with another seed (``SHOPFLOOR_FUZZ_SEED`` sets it). A failure
prints schemathesis' report: each case with a curl command that reproduces it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Served

QUICK_EXAMPLES = 250
SLOW_EXAMPLES = 500
QUICK_SEED = 20261202
RUN_TIMEOUT_S = 600


def schemathesis(served: Served, report_dir: Path, *, examples: int, seed: int) -> dict[str, Any]:
    """Run `st run` against `served`; the JSON report (asserted clean by the caller)."""
    report = report_dir / "schemathesis.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{served.url}/openapi.json",
        f"--header=Authorization: Bearer {served.token}",
        "--checks=all",
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={examples}",
        f"--seed={seed}",
        "--workers=2",  # two tills at once: concurrent writes to the one SQLite writer
        "--generation-database=none",
        "--request-timeout=30",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=report_dir, check=False
    )
    assert report.exists(), f"schemathesis wrote no report:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    result["output"] = done.stdout[-30_000:] + done.stderr[-5_000:]
    cases = result["test_cases"]
    print(
        f"schemathesis {served.url}: {result['operations']['tested']} operations, "
        f"{cases['generated']} requests, {cases['unique_failures']} failures, "
        f"{result['running_time']:.0f} s, seed {seed}"
    )
    return result


def assert_clean(result: dict[str, Any]) -> None:
    output = result["output"]
    assert result["complete"] and result["stop_reason"] == "completed", output
    assert result["operations"]["tested"] == result["operations"]["selected"] > 0, output
    assert result["failures"] == [] and result["errors"] == [], output
    assert result["test_cases"]["errored"] == 0, output
    warnings = {kind: found for kind, found in result["warnings"].items() if found}
    warnings.pop("missing_test_data", None)  # random SKUs are mostly unknown (404): expected
    assert warnings == {}, output
    phases = result["phases"]
    assert all(phases[p]["status"] == "success" for p in ("examples", "coverage", "fuzzing"))
    # Stateful runs where the document has links (the node's); the hub has none yet.
    assert phases["stateful"]["status"] == "success" or (
        phases["stateful"]["skip_reason"] == "not_applicable"
    ), phases
    assert result["exit_code"] == 0, output


def slow_seed() -> int:
    return int(os.environ.get("SHOPFLOOR_FUZZ_SEED", "7"))


def test_node_api_conforms(node: Served, tmp_path: Path) -> None:
    assert_clean(schemathesis(node, tmp_path, examples=QUICK_EXAMPLES, seed=QUICK_SEED))


def test_hub_api_conforms(hub: Served, tmp_path: Path) -> None:
    assert_clean(schemathesis(hub, tmp_path, examples=QUICK_EXAMPLES, seed=QUICK_SEED))


@pytest.mark.slow
def test_node_api_conforms_thoroughly(node: Served, tmp_path: Path) -> None:
    assert_clean(schemathesis(node, tmp_path, examples=SLOW_EXAMPLES, seed=slow_seed()))


@pytest.mark.slow
def test_hub_api_conforms_thoroughly(hub: Served, tmp_path: Path) -> None:
    assert_clean(schemathesis(hub, tmp_path, examples=SLOW_EXAMPLES, seed=slow_seed()))
