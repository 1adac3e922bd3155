"""Hedging phrases per 10,000 words in the hand-written handbook pages.

    python tests/benchmarks/hedging.py [--ref main] [--write]

Counts phrases that narrate doubt about the research instead of telling the
reader what to do ("not confirmed", "our sources do not ...", "sources
differ", "we could not ...", "ask the organiser"). Pages generated from the
graph (handbook/id, handbook/def, handbook/reference/generated) and the
translation catalogues (handbook/locales) are not counted. Text inside an
"Open questions" box (a ``:::{note} Open questions ...`` block) is where
open facts belong, so it is left out of the count but its words still count.

Reads the working tree and, with --ref, the same pages at a git revision (the
"before" figure). With --write, the figures replace the "Hedging" section of
tests/benchmarks/RESULTS.md. The target of issue 12 is at most 3 per 10,000
words across the handbook.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tests" / "benchmarks" / "RESULTS.md"
TARGET = 3.0

EXCLUDED = ("handbook/id/", "handbook/def/", "handbook/reference/generated/", "handbook/locales/")

PATTERNS = {
    "not confirmed": r"\b(?:not|never)\s+(?:yet\s+|been\s+|be\s+)*confirmed\b|\bunconfirmed\b",
    "sources do not": r"\b(?:our|the|these|both|its|public)\s+sources?\s+(?:do|does|did)\s*(?:not|n't)\b",
    "sources differ": r"\bsources\s+(?:differ|disagree|contradict)",
    "we could not": r"\bwe\s+(?:could|can|did)\s*(?:not|n't)\b",
    "ask the organiser": r"\bask\s+the\s+organi[sz]er",
    "could not be found": r"\bcould\s+not\s+be\s+(?:found|verified|confirmed)\b",
}
COMPILED = {name: re.compile(rx, re.IGNORECASE) for name, rx in PATTERNS.items()}

BOX_START = re.compile(r"^(:{3,})\{note\}\s*Open questions", re.IGNORECASE)
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
MARKUP = re.compile(r"\{[a-z-]+\}`[^`]*`|`[^`]*`|\[[^\]]*\]\([^)]*\)|https?://\S+")
WORD = re.compile(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9'’-]*")


def included(path: str) -> bool:
    return path.startswith("handbook/") and path.endswith(".md") and not path.startswith(EXCLUDED)


def split_boxes(text: str) -> tuple[str, str]:
    """Return (text outside open-question boxes, text inside them)."""
    outside: list[str] = []
    inside: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        if fence is None:
            match = BOX_START.match(line.strip())
            if match:
                fence = match.group(1)
                continue
            outside.append(line)
        elif line.strip() == fence:
            fence = None
        else:
            inside.append(line)
    return "\n".join(outside), "\n".join(inside)


def measure(text: str) -> tuple[int, dict[str, int]]:
    """Words of a page (front matter dropped) and its hedges outside the boxes."""
    text = FRONT_MATTER.sub("", text, count=1)
    outside, inside = split_boxes(text)
    words = len(WORD.findall(MARKUP.sub(" ", outside))) + len(WORD.findall(MARKUP.sub(" ", inside)))
    plain = " ".join(outside.split())
    return words, {name: len(rx.findall(plain)) for name, rx in COMPILED.items()}


def working_tree() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "handbook").rglob("*.md")):
        rel = path.relative_to(ROOT).as_posix()
        if included(rel):
            yield rel, path.read_text(encoding="utf-8")


def at_revision(ref: str) -> Iterator[tuple[str, str]]:
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "--", "handbook"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for rel in sorted(listing):
        if included(rel):
            shown = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=ROOT, check=True, capture_output=True)
            yield rel, shown.stdout.decode("utf-8")


def area(rel: str) -> str:
    parts = rel.split("/")
    if parts[1] == "modules" and len(parts) > 3:
        return f"modules/{parts[2]}/"
    if parts[1] in {"how-to", "explanation", "about", "data", "routes", "reference"}:
        return f"{parts[1]}/"
    return "other"


def tally(pages: Iterable[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Per area, per page (keys starting with "handbook/") and in total: (words, hedges)."""
    totals: dict[str, list[int]] = {}
    for rel, text in pages:
        words, hedges = measure(text)
        for key in (area(rel), rel, "all hand-written pages"):
            entry = totals.setdefault(key, [0, 0])
            entry[0] += words
            entry[1] += sum(hedges.values())
    return {key: (w, h) for key, (w, h) in totals.items()}


def rate(words: int, hedges: int) -> float:
    return 10_000 * hedges / words if words else 0.0


def report(now: dict[str, tuple[int, int]], before: dict[str, tuple[int, int]] | None, ref: str | None) -> str:
    lines = [
        f"## Hedging phrases (`hedging.py`), {datetime.date.today().isoformat()}",
        "",
        'Hedging phrases ("not confirmed", "our sources do not …", "sources differ",',
        '"we could not …", "ask the organiser", "could not be found") per 10,000 words',
        "of the hand-written pages (not `handbook/id`, `def`, `reference/generated`,",
        '`locales`); text in the end-of-page "Open questions" boxes is not counted as',
        f"hedging. Target (issue 12): at most {TARGET:g} per 10,000 words across the handbook.",
        "",
    ]
    pages = {k: v for k, v in now.items() if k.startswith("handbook/")}
    areas = {k: v for k, v in now.items() if k not in pages}
    keys = [*sorted(k for k in areas if k != "all hand-written pages"), "all hand-written pages"]
    if before is not None:
        lines += [f"| pages | words | hedges | per 10,000 words | before (`{ref}`) |", "|---|---|---|---|---|"]
    else:
        lines += ["| pages | words | hedges | per 10,000 words |", "|---|---|---|---|"]
    for key in keys:
        words, hedges = now[key]
        row = f"| {key} | {words:,} | {hedges} | {rate(words, hedges):.1f} |"
        if before is not None:
            b_words, b_hedges = before.get(key, (0, 0))
            row += f" {rate(b_words, b_hedges):.1f} ({b_hedges} in {b_words:,} words) |"
        lines.append(row)
    worst = sorted((v[1], k) for k, v in pages.items() if v[1])[::-1][:8]
    if worst:
        lines += [
            "",
            "Pages with the most hedges: " + ", ".join(f"`{k[len('handbook/') :]}` ({n})" for n, k in worst) + ".",
        ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(r"^## Hedging phrases .*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="also measure the pages at this git revision (the 'before' figure)")
    parser.add_argument("--write", action="store_true", help="write the figures into tests/benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    now = tally(working_tree())
    before = tally(at_revision(args.ref)) if args.ref else None
    section = report(now, before, args.ref)
    print(section, end="")
    if args.write:
        write_section(section)
    words, hedges = now["all hand-written pages"]
    return 0 if rate(words, hedges) <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
