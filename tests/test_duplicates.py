"""One canonical page per topic: no long passage is repeated across hand-written pages.

The check compares paragraphs, not whole pages. Each paragraph becomes a set of
word 8-gram shingles after its markup is reduced to plain words; two paragraphs
on different pages are near-duplicates when at least 35 per cent of the smaller
one's shingles (and at least ten) occur in the other. A copy or a lightly edited
copy scores well above that; a retelling in new words scores lower, so the check
catches copied passages, not shared topics (in December 2026 the highest pair
left in the handbook scored 0.34). Short paragraphs, front matter, the Sources
section, generated folders and translations are ignored, so boilerplate such as
"See the checklist" or a list of links does not count.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "handbook"
GENERATED = ("id", "def", "reference/generated", "locales")

SHINGLE = 8  # words per shingle
MIN_WORDS = 40  # shorter paragraphs are boilerplate, not topics
CONTAINMENT = 0.35  # share of the smaller paragraph's shingles found in the other
MIN_SHARED = 10  # and at least this many shingles in common

ROLE = re.compile(r"\{[a-z-]+\}`([^`<]*?)\s*(?:<[^`>]*>)?`")  # {entity}`text <slug>` -> text
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [text](target) -> text
WORD = re.compile(r"[a-z0-9äöüß]+(?:['’][a-z]+)?")


@dataclass(frozen=True)
class Paragraph:
    page: str
    line: int
    text: str
    shingles: frozenset[str]


def strip_page(text: str) -> list[tuple[int, str]]:
    """The page's paragraphs with their first line numbers, without front matter,
    the Sources section, headings, fences and directive options."""
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                start = i + 1
                break
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    first = 0
    skipping_sources = False
    for number, raw in enumerate(lines[start:], start=start + 1):
        line = raw.strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            skipping_sources = heading in {"sources", "quellen"}
            line = ""
        if skipping_sources:
            continue
        if line.startswith(("```", ":::", "~~~")) or re.match(r"^:[a-z-]+:", line):
            line = ""
        if not line:
            if current:
                paragraphs.append((first, " ".join(current)))
                current = []
            continue
        if not current:
            first = number
        current.append(line)
    if current:
        paragraphs.append((first, " ".join(current)))
    return paragraphs


def words(text: str) -> list[str]:
    text = ROLE.sub(r"\1", text)
    text = LINK.sub(r"\1", text)
    return WORD.findall(text.lower())


def shingles(tokens: list[str], size: int = SHINGLE) -> frozenset[str]:
    return frozenset(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def hand_written_pages(root: Path = HANDBOOK) -> list[Path]:
    pages = []
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        if any(rel == g or rel.startswith(g + "/") for g in GENERATED):
            continue
        pages.append(path)
    return pages


def paragraphs_of(pages: list[Path], root: Path) -> list[Paragraph]:
    found = []
    for path in pages:
        rel = path.relative_to(root).as_posix()
        for line, text in strip_page(path.read_text(encoding="utf-8")):
            tokens = words(text)
            if len(tokens) >= MIN_WORDS:
                found.append(Paragraph(rel, line, text, shingles(tokens)))
    return found


def near_duplicates(paragraphs: list[Paragraph]) -> list[tuple[Paragraph, Paragraph, float]]:
    """Pairs of paragraphs on different pages that share most of their shingles."""
    index: dict[str, list[int]] = defaultdict(list)
    for n, paragraph in enumerate(paragraphs):
        for shingle in paragraph.shingles:
            index[shingle].append(n)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for owners in index.values():
        if len(owners) < 2:
            continue
        for i, a in enumerate(owners):
            for b in owners[i + 1 :]:
                if paragraphs[a].page != paragraphs[b].page:
                    shared[(a, b)] += 1
    pairs = []
    for (a, b), count in shared.items():
        smaller = min(len(paragraphs[a].shingles), len(paragraphs[b].shingles))
        score = count / smaller
        if count >= MIN_SHARED and score >= CONTAINMENT:
            pairs.append((paragraphs[a], paragraphs[b], score))
    return sorted(pairs, key=lambda p: (p[0].page, p[0].line, p[1].page, p[1].line))


# ------------------------------------------------------------ the detector


LONG = (
    "The first Global Refugee Forum took place in Geneva in December 2019. Almost no "
    "cities took part, but Athens and Bristol helped to prepare it, São Paulo spoke "
    "in a session, and a small group of mayors got in through one event that the "
    "Mayors Migration Council organised with a refugee-led network and Switzerland. "
    "Local actors made only 48 of the 1,395 pledges counted by April 2020."
)


def _page(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\nlast_reviewed: 2026-12-03\n---\n\n# {name}\n\n{body}\n", encoding="utf-8")
    return path


def test_an_exact_copy_on_another_page_is_found(tmp_path):
    pages = [_page(tmp_path, "a.md", LONG), _page(tmp_path, "b.md", LONG)]
    pairs = near_duplicates(paragraphs_of(pages, tmp_path))
    assert [(a.page, b.page) for a, b, _ in pairs] == [("a.md", "b.md")]


def test_a_lightly_edited_copy_is_found(tmp_path):
    edited = LONG.replace("took place in Geneva", "was held in Geneva").replace(
        "Almost no cities took part, but", "Very few cities attended;"
    )
    edited = "{entity}`Athens <athens>` " + edited + " See [the case](../cases/x.md)."
    pages = [_page(tmp_path, "a.md", LONG), _page(tmp_path, "b.md", edited)]
    pairs = near_duplicates(paragraphs_of(pages, tmp_path))
    assert len(pairs) == 1 and pairs[0][2] >= CONTAINMENT


def test_the_same_topic_in_other_words_is_not_a_duplicate(tmp_path):
    other = (
        "Cities were close to absent from the 2019 refugee forum in Geneva. Two European "
        "mayors worked on its preparation, one Brazilian city was heard, and the rest of "
        "the few who came owed their seat to a single session run by a mayors' council, "
        "a refugee network and the Swiss government. Of nearly 1,400 pledges, 48 were local."
    )
    pages = [_page(tmp_path, "a.md", LONG), _page(tmp_path, "b.md", other)]
    assert near_duplicates(paragraphs_of(pages, tmp_path)) == []


def test_sources_front_matter_and_short_paragraphs_are_ignored(tmp_path):
    sources = "\n\n## Sources\n\n" + LONG
    short = "See the checklist for the steps and the exercises for practice."
    pages = [
        _page(tmp_path, "a.md", short + sources),
        _page(tmp_path, "b.md", short + sources),
    ]
    assert near_duplicates(paragraphs_of(pages, tmp_path)) == []


def test_repeats_on_one_page_are_left_alone(tmp_path):
    pages = [_page(tmp_path, "a.md", LONG + "\n\n" + LONG)]
    assert near_duplicates(paragraphs_of(pages, tmp_path)) == []


def test_generated_folders_and_translations_are_skipped(tmp_path):
    _page(tmp_path, "id/x.md", LONG)
    _page(tmp_path, "locales/de/y.md", LONG)
    kept = _page(tmp_path, "explanation/z.md", LONG)
    assert hand_written_pages(tmp_path) == [kept]


# ------------------------------------------------------------ the handbook


@pytest.mark.skipif(not HANDBOOK.is_dir(), reason="no handbook in this checkout")
def test_no_long_passage_is_repeated_across_pages():
    pages = hand_written_pages()
    assert len(pages) > 50, "the handbook's pages were not found"
    pairs = near_duplicates(paragraphs_of(pages, HANDBOOK))
    report = "\n".join(
        f"handbook/{a.page}:{a.line} and handbook/{b.page}:{b.line} share {score:.0%}: {a.text[:90]}…"
        for a, b, score in pairs
    )
    assert not pairs, (
        f"{len(pairs)} passage(s) repeated across pages; keep the topic on one page and "
        f"link to it from the others:\n{report}"
    )
