"""From saving an edit to the served page showing it, with `citydiplo serve --watch` (run on demand).

    python tests/benchmarks/watch_time.py [--runs 2] [--synthetic N] [--append]

Copies conf/, vocab/ and handbook/ into a temporary folder, starts
`citydiplo serve --watch --port 0` there (its first build is a full one), then
for each run:

- **prose**: appends a sentence to a handbook page
  (``explanation/global-architecture.md``) and fetches the page from the
  server every 50 ms until it shows the sentence;
- **label**: renames one entity in English and German (the city with the
  most referrers, as ``scale.py`` does) and fetches its page until it shows
  the new English label.

With ``--synthetic N``, N synthetic entities (``synth.py``, as ``scale.py``
adds them) are added first, and the edited entity is the synthetic one
``scale.py`` edits.

"Saved → served" is the time from the file being written to the first
answer that shows the change (polling, settling, the incremental rebuild up
to the swap). "Build" is what the preview reports for the whole build: it
also counts the removal of the previous copy of the site after the swap
(``files.replace_dir``), which the reader no longer waits for, so it can be
longer than "saved → served". With --append the table is added to
tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402
from scale import pick_entity, rename  # noqa: E402

PAGE = "explanation/global-architecture"
IGNORE = shutil.ignore_patterns("__pycache__", "*.mo", "_coursepacks", "id", "def", "generated")


class Preview:
    def __init__(self, repo: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "citydiplo.cli", "--root", str(repo), "serve", "--watch", "--port", "0"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self.read, daemon=True).start()
        started = time.perf_counter()
        line = self.wait_for("citydiplo: serving ", 0)
        self.first_build = time.perf_counter() - started
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            print(f"  [{time.strftime('%H:%M:%S')}] {line}", end="", flush=True)  # what the preview says

    def wait_for(self, text: str, start: int, seconds: float = 1800) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if text in line:
                    return line
            if self.process.poll() is not None:
                sys.exit("the preview stopped:\n" + "".join(self.lines))
            time.sleep(0.05)
        sys.exit(f"no {text!r} in:\n" + "".join(self.lines))

    def until_shown(self, path: str, text: str, since: float, seconds: float = 900) -> float:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                if text in response.read().decode("utf-8"):
                    return time.perf_counter() - since
            time.sleep(0.05)
        sys.exit(f"{path} never showed {text!r}:\n" + "".join(self.lines))

    def build_seconds(self, start: int) -> float:
        line = self.wait_for("rebuilt build/html/", start)
        return float(line.rsplit(" in ", 1)[1].split(" s", 1)[0])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic entities to add (as scale.py does)")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="citydiplo-watch-"))
    repo = work / "repo"
    for part in ("conf", "vocab", "handbook"):
        shutil.copytree(ROOT / part, repo / part, ignore=IGNORE)
    if args.synthetic:
        synth.write(synth.generate(args.synthetic, repo), repo / "vocab" / "data" / "synthetic.ttl")
    path, slug, labels = pick_entity(repo, synthetic=bool(args.synthetic))
    preview = Preview(repo)
    print(f"first (full) build, then serving: {preview.first_build:.1f} s")
    results: dict[str, list[tuple[float, float]]] = {"prose": [], "label": []}
    try:
        for run in range(1, args.runs + 1):
            time.sleep(1.5)  # the preview is idle again
            start = len(preview.lines)
            page = repo / "handbook" / f"{PAGE}.md"
            marker = f"Preview marker {run}."
            page.write_text(page.read_text(encoding="utf-8") + f"\n{marker}\n", encoding="utf-8")
            saved = time.perf_counter()
            shown = preview.until_shown(f"{PAGE}.html", marker, saved)
            results["prose"].append((shown, preview.build_seconds(start)))

            time.sleep(1.5)
            start = len(preview.lines)
            new = {lang: f"{label} P{run}" for lang, label in labels.items()}
            rename(path, slug, labels, new)
            saved = time.perf_counter()
            shown = preview.until_shown(f"id/{slug}.html", new["en"], saved)
            results["label"].append((shown, preview.build_seconds(start)))
            labels = new
            for kind, runs in results.items():
                print(f"run {run} {kind}: saved → served {runs[-1][0]:.1f} s (rebuild {runs[-1][1]:.1f} s)")
    finally:
        preview.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        (
            kind,
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
            max(r[0] for r in runs),
        )
        for kind, runs in results.items()
    ]
    if args.append:
        lines = [
            "",
            f"## Preview that follows edits (`watch_time.py`), {dt.date.today().isoformat()}",
            "",
            f"`citydiplo serve --watch` on a copy of today's handbook and graph"
            f"{f' with {args.synthetic:,} synthetic entities' if args.synthetic else ''}; first (full) build "
            f"{preview.first_build:.0f} s. Medians of {args.runs} runs on the shared 2-core machine "
            "(other agents' jobs running); the rebuild is one Sphinx process (the preview builds in a thread "
            "beside the server's).",
            "",
            "| edit | saved → page served (s) | build as the preview reports it (s) | slowest saved → served (s) |",
            "|---|---|---|---|",
        ]
        names = {
            "prose": f"a sentence on a prose page (`{PAGE}.md`)",
            "label": f"one entity's label (`{slug}`, en + de)",
        }
        for kind, shown, build, slowest in rows:
            lines.append(f"| {names[kind]} | {shown:.1f} | {build:.1f} | {slowest:.1f} |")
        with (ROOT / "tests" / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
