"""How often `citydiplo slides` and `citydiplo coursepack` read vocab/, and what it costs (run on demand).

    python tests/benchmarks/vocab_reads.py [--runs 3] [--module gfmd] [--tools DIR] [--append]

Runs `citydiplo slides MODULE` and `citydiplo coursepack MODULE` (participant
edition) on this checkout, each in a fresh process whose
``citydiplo.graph.load.load`` is wrapped to count its calls and time them,
after one warm-up run of each (so the packs' Sphinx caches are warm, as in an
author's second run). ``--tools DIR`` runs another copy of the package on the
same project, e.g. an older commit's (``git archive COMMIT tools | tar -x -C
DIR``), for the comparison before/after. Prints medians; with --append the
table is added to tests/benchmarks/RESULTS.md.

Wall time on a shared machine varies with the load: read the seconds spent
in ``load()`` (what handing the vocabulary on saves) beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import citydiplo.graph.load as L
calls = []
original = L.load
def load(project):
    start = time.perf_counter()
    try:
        return original(project)
    finally:
        calls.append(time.perf_counter() - start)
L.load = load  # before anything imports it by name
from citydiplo.cli import main
code = main(sys.argv[2:])
print(json.dumps({"code": code, "reads": len(calls), "read_seconds": sum(calls)}))
"""


def run(tools: Path, args: list[str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tools), "--root", str(ROOT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    if result["code"] != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return {**result, "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--module", default="gfmd")
    parser.add_argument("--tools", type=Path, default=ROOT / "tools", help="the folder that holds citydiplo/")
    parser.add_argument("--label", default=None, help="how the table names this code (default: the --tools folder)")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    commands = {"slides": ["slides", args.module], "coursepack": ["coursepack", args.module]}
    rows = []
    for name, command in commands.items():
        run(args.tools, command)  # warm the pack's Sphinx cache
        results = [run(args.tools, command) for _ in range(args.runs)]
        row = (
            name,
            results[0]["reads"],
            statistics.median(r["read_seconds"] for r in results),
            statistics.median(r["wall"] for r in results),
        )
        rows.append(row)
        print(f"{name} {args.module}: vocab/ read {row[1]}×, {row[2]:.2f} s in load(), {row[3]:.1f} s wall")
    if args.append:
        label = args.label or str(args.tools)
        lines = [
            "",
            f"### vocab/ reads of slides and packs (`vocab_reads.py`), {dt.date.today().isoformat()}, {label}",
            "",
            f"Module `{args.module}`, warm pack cache, medians of {args.runs} runs on the shared machine.",
            "",
            "| command | vocab/ read | seconds in load() | wall (s) |",
            "|---|---|---|---|",
        ]
        for name, reads, seconds, wall in rows:
            lines.append(f"| `{name} {args.module}` | {reads}× | {seconds:.2f} | {wall:.1f} |")
        with (ROOT / "tests" / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
