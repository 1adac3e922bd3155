"""Build time of every course pack on this machine (run on demand).

    python tests/benchmarks/coursepack_time.py [--runs 3] [--pack NAME ...] [--append]

For each pack in conf/coursepacks.toml and each edition, runs
`citydiplo coursepack NAME --edition E` in a fresh process:

- cold: after removing the pack's Sphinx cache (build/.doctrees/coursepack/)
  and intermediate output (build/.coursepack/), as on a fresh checkout;
- warm: again, with the cache of the previous run.

Wall time is the whole command (Python start, vocabulary validation, Sphinx,
WeasyPrint); "pack" is the build of the pack alone, as the command reports it.
The issue's budget: a module pack builds in at most 20 s. With --append the
table is added to tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "citydiplo.cli"]
BUDGET_S = 20.0
REPORT_RE = re.compile(r"\((?P<pages>\d+) pages, (?P<seconds>[\d.]+) s\)")


def run(name: str, edition: str) -> tuple[float, float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [*CLI, "coursepack", name, "--edition", edition], cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"coursepack {name} --edition {edition} failed:\n{done.stderr}")
    match = REPORT_RE.search(done.stderr)
    return wall, float(match["seconds"]), int(match["pages"])


def clear_cache(name: str, edition: str) -> None:
    tag = f"{name}-{edition}"
    shutil.rmtree(ROOT / "build" / ".doctrees" / "coursepack" / tag, ignore_errors=True)
    shutil.rmtree(ROOT / "build" / ".coursepack" / tag, ignore_errors=True)


def main() -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    from citydiplo.config import load_project
    from citydiplo.print.coursepack import EDITIONS, load_packs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pack", action="append", help="only these packs (default: all)")
    parser.add_argument("--append", action="store_true", help="append the table to tests/benchmarks/RESULTS.md")
    args = parser.parse_args()

    packs = load_packs(load_project(ROOT)).packs
    names = args.pack or list(packs)
    rows = []
    over_budget = []
    for name in names:
        kind = "module" if len(packs[name].contents) == 1 else f"{len(packs[name].contents)} modules"
        for edition in EDITIONS:
            cold, warm = [], []
            for _ in range(args.runs):
                clear_cache(name, edition)
                cold.append(run(name, edition))
                warm.append(run(name, edition))
            pages = cold[0][2]
            cold_wall = statistics.median(c[0] for c in cold)
            row = (
                f"| `{name}` ({kind}) | {edition} | {pages} "
                f"| {cold_wall:.1f} ({min(c[0] for c in cold):.1f}–{max(c[0] for c in cold):.1f}) "
                f"| {statistics.median(c[1] for c in cold):.1f} "
                f"| {statistics.median(w[0] for w in warm):.1f} "
                f"| {statistics.median(w[1] for w in warm):.1f} |"
            )
            print(row, flush=True)
            rows.append(row)
            if kind == "module" and max(c[0] for c in cold) > BUDGET_S:
                over_budget.append(f"{name} ({edition})")

    header = (
        f"## Course-pack build time (`coursepack_time.py`), {dt.date.today().isoformat()}\n\n"
        f"Each figure the median of {args.runs} runs (min–max for cold), seconds, one pack at a time "
        f"(Python {platform.python_version()}). *Wall*: the whole `citydiplo coursepack NAME --edition E` "
        "command, including Python start-up and validating vocab/ (≈ 2 s); *pack*: Sphinx plus WeasyPrint, "
        "as the command reports it. *Cold*: without the pack's Sphinx cache; *warm*: with it. "
        f"Budget for a module pack: {BUDGET_S:.0f} s.\n\n"
        "| pack | edition | pages | cold wall | cold pack | warm wall | warm pack |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    verdict = (
        f"\nOver the {BUDGET_S:.0f} s budget: {', '.join(over_budget)}.\n"
        if over_budget
        else f"\nEvery module pack built within the {BUDGET_S:.0f} s budget in every run.\n"
    )
    print(verdict)
    if args.append:
        with (ROOT / "tests" / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + header + "\n".join(rows) + "\n" + verdict)
    return 1 if over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
