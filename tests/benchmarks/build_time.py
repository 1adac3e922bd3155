"""Build times of the handbook on this machine (run on demand).

    python tests/benchmarks/build_time.py

Measures, each in a fresh process: validate; a full build (after removing
build/ and the doctree cache); a no-op rebuild; and a rebuild after editing
one entity's definition. Results are recorded in tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "citydiplo.cli"]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(CLI + args, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    print(f"validate        {timed(['validate']):6.1f} s")
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    print(f"full build      {timed(['build']):6.1f} s")
    print(f"no-op rebuild   {timed(['build']):6.1f} s")
    target = ROOT / "vocab/data/sources.ttl"
    text = target.read_text(encoding="utf-8")
    try:
        target.write_text(text.replace("based on 21 interviews", "based on twenty-one interviews", 1), encoding="utf-8")
        print(f"one entity      {timed(['build']):6.1f} s")
    finally:
        target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
