"""Each training module's knowledge check (issue 14): 8–12 questions of mixed
kinds, at least half of them scenarios, each with a place to answer on paper
and exactly one answer note that links the module page teaching the point.

The MyST sources are parsed (quick); the participant edition of the real
site (the session fixture ``english_site``, slow) must show the questions
and tick boxes but no answer and no writing space. The trainer edition's
notes are counted against the sources by tests/test_handbook.py, and the
print form by tests/test_coursepack.py (the fixture's knowledge-check
question).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from .conftest import REPO

MODULES = ("forum-access", "gfmd", "imrf", "grf")
KINDS = ("multiple choice", "true or false", "order", "scenario")
QUESTION = re.compile(r"^\*\*Question (\d+) \(([a-z ]+)\)\.\*\*", re.M)
NOTE = re.compile(r"^(:{3,})\{trainer-note\}[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
LINK = re.compile(r"\]\(([^)#\s]+?)(?:#[^)]*)?\)")


def page(module: str) -> str:
    return (REPO / "handbook" / "modules" / module / "knowledge-check.md").read_text(encoding="utf-8")


def questions(module: str) -> list[tuple[int, str, str]]:
    """(number, kind, text up to the next question) for every question."""
    text = page(module)
    body = text.split("\n## Questions\n", 1)[1].split("\n## ", 1)[0]
    found = list(QUESTION.finditer(body))
    return [
        (int(m[1]), m[2], body[m.start() : found[i + 1].start() if i + 1 < len(found) else len(body)])
        for i, m in enumerate(found)
    ]


@pytest.mark.parametrize("module", MODULES)
def test_module_has_a_knowledge_check_in_its_toctree(module):
    text = page(module)
    assert re.match(r"\A---\nlast_reviewed: \d{4}-\d{2}-\d{2}\nreview_due: \d{4}-\d{2}-\d{2}\n---\n", text)
    index = (REPO / "handbook" / "modules" / module / "index.md").read_text(encoding="utf-8")
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.S)
    assert toctree and re.search(r"^knowledge-check$", toctree[1], re.M), f"{module}: not in the toctree"


@pytest.mark.parametrize("module", MODULES)
def test_questions_are_numbered_mixed_and_mostly_applied(module):
    found = questions(module)
    assert 8 <= len(found) <= 12, f"{module}: {len(found)} questions"
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1))
    kinds = Counter(kind for _, kind, _ in found)
    assert set(kinds) <= set(KINDS), kinds
    assert all(kinds[k] for k in KINDS), f"{module}: every kind of question at least once: {kinds}"
    assert kinds["scenario"] * 2 >= len(found), f"{module}: at least half scenarios: {kinds}"
    # the count in the introduction matches
    words = {8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
    assert f"This check has {words[len(found)]} questions" in page(module)


@pytest.mark.parametrize("module", MODULES)
def test_every_question_has_a_place_to_answer_and_one_answer_note(module):
    folder = REPO / "handbook" / "modules" / module
    for number, kind, text in questions(module):
        where = f"{module} question {number}"
        notes = NOTE.findall(text)
        assert len(notes) == 1, f"{where}: {len(notes)} answer notes"
        answer = notes[0][1]
        assert answer.startswith("**Answer:**"), where
        # the answer names the page that teaches the point, and the page exists
        targets = LINK.findall(answer)
        assert targets, f"{where}: the answer links no page"
        for target in targets:
            assert target.endswith(".md") and (folder / target).resolve().is_file(), f"{where}: {target}"
            assert (folder / target).resolve().parent == folder, f"{where}: {target} is not in the module"
        question = NOTE.sub("", text)
        ticks = re.search(r"^\{\.knowledge-check\}\n- \[ \] ", question, re.M)
        lines = re.search(r"^:{3,}\{writing-space\}( \d+)?$", question, re.M)
        # no tick box outside a list marked as a knowledge check (not a checklist to remember)
        for options in re.findall(r"((?:^- \[ \] .*\n(?:  .*\n)*)+)", question, re.M):
            before = question[: question.index(options)].rstrip("\n").rsplit("\n", 1)[-1]
            assert before == "{.knowledge-check}", f"{where}: tick boxes without {{.knowledge-check}}"
        assert ticks or lines, f"{where}: nowhere to answer on paper"
        if kind == "true or false":
            assert ticks and lines, f"{where}: tick true or false, and lines for the reason"
        if kind in ("multiple choice", "order"):
            assert ticks, f"{where}: tick boxes"


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_participant_edition_shows_no_answers(english_site, module):
    html = (english_site / "modules" / module / "knowledge-check.html").read_text(encoding="utf-8")
    count = len(questions(module))
    assert len(re.findall(r"<strong>Question \d+ \(", html)) == count
    assert "trainer-note" not in html and "<strong>Answer:</strong>" not in html
    assert "write-line" not in html and "writing-space" not in html
    lists = re.findall(r'<ul class="([^"]*\bknowledge-check\b[^"]*)"', html)
    assert lists and all("contains-task-list" in classes for classes in lists)
    # the options are not tasks: no checklist item on the page
    items = re.findall(r'<li class="([^"]*)"', html)
    assert not [c for c in items if "task-list-item" in c.split()]
    assert [c for c in items if "knowledge-check-option" in c.split()]
    # every tick box on the page belongs to a knowledge-check list
    assert html.count('class="task-list-item-checkbox"') == sum(
        len(re.findall(r"^- \[ \] ", text, re.M)) for _, _, text in questions(module)
    )
