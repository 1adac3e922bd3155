"""Rules every hand-written page of the handbook follows (CONTRIBUTING.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import REPO

HANDBOOK = REPO / "handbook"
GENERATED = ("id/", "def/", "reference/generated/", "_coursepacks/")
FACTUAL = ("modules/", "how-to/", "explanation/", "about/")


def pages():
    for path in sorted(HANDBOOK.rglob("*.md")):
        rel = path.relative_to(HANDBOOK).as_posix()
        if not rel.startswith(GENERATED) and "/locales/" not in rel:
            yield rel


def words(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = text.split("\n## Sources")[0]  # source lists do not count
    return len(re.findall(r"[A-Za-zÀ-ÿ0-9’'-]+", text))


@pytest.mark.parametrize("rel", list(pages()))
def test_page_has_review_dates(rel):
    text = (HANDBOOK / rel).read_text(encoding="utf-8")
    assert re.match(r"\A---\n(.*\n)*?last_reviewed: \d{4}-\d{2}-\d{2}\n", text), f"{rel}: no last_reviewed"
    assert re.search(r"^review_due: \d{4}-\d{2}-\d{2}$", text, re.M), f"{rel}: no review_due"


@pytest.mark.parametrize("rel", [p for p in pages() if p.startswith(FACTUAL) and not p.endswith("index.md")])
def test_factual_page_names_its_sources(rel):
    text = (HANDBOOK / rel).read_text(encoding="utf-8")
    assert re.search(r"^## Sources\s*$", text, re.M), f"{rel}: no '## Sources' section"


@pytest.mark.parametrize("module", ["forum-access", "gfmd", "imrf", "grf"])
def test_module_is_complete(module):
    folder = HANDBOOK / "modules" / module
    assert (folder / "index.md").is_file()
    assert (folder / "checklist.md").is_file()
    exercises = (folder / "exercises.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^:{3,}\{exercise\}", exercises, re.M)) >= 2
    assert re.search(r"^:{3,}\{trainer-note\}", exercises, re.M)
    assert "- [ ]" in (folder / "checklist.md").read_text(encoding="utf-8")
    total = sum(words(p) for p in folder.glob("*.md"))
    assert total >= 3000, f"{module}: {total} words"
    content_pages = [
        p for p in folder.glob("*.md") if p.stem not in ("index", "checklist", "exercises", "knowledge-check")
    ]
    assert 3 <= len(content_pages) <= 7


def sessions(module: str) -> dict[int, str]:
    """The module's session table: number → the cell naming its page(s)."""
    text = (HANDBOOK / "modules" / module / "index.md").read_text(encoding="utf-8")
    table = text.split("\n## Sessions", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].isdigit():
            rows[int(cells[0])] = cells[2]
    return rows


@pytest.mark.parametrize("module", ["forum-access", "gfmd", "imrf", "grf"])
def test_every_session_has_facilitator_notes(module):
    """One facilitator note per session of the table, on the page the session
    uses (the module's landing page for a trainer-led session); the build
    checks each note's parts (citydiplo.site.sphinxext.FacilitatorNoteDirective)."""
    folder = HANDBOOK / "modules" / module
    notes: dict[int, list[str]] = {}
    for path in sorted(folder.glob("*.md")):
        for number in re.findall(r"^:{3,}\{facilitator-note\}\s+(\d+)", path.read_text(encoding="utf-8"), re.M):
            notes.setdefault(int(number), []).append(path.name)
    table = sessions(module)
    assert sorted(notes) == sorted(table), f"{module}: notes for sessions {sorted(notes)}, table {sorted(table)}"
    for number, files in notes.items():
        assert len(files) == 1, f"{module}: session {number} has notes in {files}"
        linked = re.findall(r"\]\(([\w-]+)\.md\)", table[number])
        assert files[0] in [f"{name}.md" for name in linked] or (not linked and files[0] == "index.md"), (
            f"{module}: session {number}'s notes are in {files[0]}, its pages are {linked or ['index.md']}"
        )


def test_context_pages_have_enough_text():
    total = sum(words(p) for p in HANDBOOK.glob("explanation/**/*.md")) + sum(
        words(p) for p in HANDBOOK.glob("how-to/*.md")
    )
    assert total >= 15000, f"explanation + how-to: {total} words"


GUIDE_SHAPE = ["When to use", "When not to use", "Steps", "Examples", "Sources"]
TASK_SHAPE = ["Before you start", "What you need", "Steps", "Deadline", "Who to contact", "Sources"]


def test_how_to_guides_have_the_shape():
    """A guide has the guide shape; a forum's "get in" task page has the task shape (issue 12)."""
    guides = [p for p in HANDBOOK.glob("how-to/*.md") if p.stem != "index"]
    assert len(guides) >= 6
    for guide in guides:
        headings = re.findall(r"^## (.+?)\s*$", guide.read_text(encoding="utf-8"), re.M)
        shapes = [[h for h in headings if h in wanted] == wanted for wanted in (GUIDE_SHAPE, TASK_SHAPE)]
        assert any(shapes), f"{guide.name}: {headings}"


@pytest.mark.parametrize("region", ["europe", "africa", "mena", "americas", "asia-pacific"])
def test_regional_page_cites_three_sources(region):
    text = (HANDBOOK / "explanation" / "regions" / f"{region}.md").read_text(encoding="utf-8")
    sources = text.split("\n## Sources")[1]
    items = [line for line in sources.splitlines() if line.startswith("- ")]
    assert len(items) >= 3, f"{region}: {len(items)} sources"


MODULE_ORDER = ("forum-access", "gfmd", "imrf", "grf")  # the modules toctree (handbook/modules/index.md)


@pytest.mark.slow
def test_bank_exercises_are_written_out_once_on_the_site(english_site):
    """An exercise of the bank (handbook/exercises/) is written out in the
    first module that uses it; the later modules show their own variant and
    link to it (the session fixture: no extra build)."""
    bank = sorted(p.stem for p in (HANDBOOK / "exercises").glob("*.md"))
    assert len(bank) >= 3
    for name in bank:
        users = [
            m
            for m in MODULE_ORDER
            if re.search(rf"^:bank: {name}$", (HANDBOOK / "modules" / m / "exercises.md").read_text(), re.M)
        ]
        assert len(users) >= 2, f"{name}: a bank entry is for exercises that several modules share"
        first, *later = users
        html = (english_site / "modules" / first / "exercises.html").read_text(encoding="utf-8")
        assert f'id="exercise-{name}"' in html and f"#exercise-{name}" not in html, name
        for module in later:
            html = (english_site / "modules" / module / "exercises.html").read_text(encoding="utf-8")
            link = f'href="../{first}/exercises.html#exercise-{name}"'
            assert re.search(rf'<p class="bank-see">[^<]*<a [^>]*{re.escape(link)}', html), (name, module)
