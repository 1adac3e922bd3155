"""The translations: gettext catalogues in handbook/locales/ and the German build.

Each catalogue translates one document (``gettext_compact = False``):
``handbook/locales/de/LC_MESSAGES/routes/officials.po`` holds the German of
``handbook/routes/officials.md``.
"""

from __future__ import annotations

import ast
import html
import io
import os
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from citydiplo.site.build import run_sphinx

from .conftest import REPO

LOCALES = REPO / "handbook" / "locales"
CATALOGUES = sorted(LOCALES.glob("*/LC_MESSAGES/**/*.po"))
# Markup that the HTML shows differently from the catalogue (roles, links, emphasis, code)
MARKUP = re.compile(r"[`*\[\]{}<>_\"']")


def rel(po: Path) -> str:
    return po.relative_to(LOCALES).as_posix()


def language_of(po: Path) -> str:
    return po.relative_to(LOCALES).parts[0]


def docname_of(po: Path) -> str:
    """``de/LC_MESSAGES/routes/officials.po`` → ``routes/officials``."""
    return Path(*po.relative_to(LOCALES).parts[2:]).with_suffix("").as_posix()


def read_catalogue(po: Path):
    with po.open("rb") as f:
        return read_po(f, abort_invalid=True)


def messages(catalogue):
    """The entries of a catalogue, without its header (msgid "")."""
    return [m for m in catalogue if m.id]


def test_there_are_catalogues():
    assert (LOCALES / "de" / "LC_MESSAGES" / "index.po") in CATALOGUES


@pytest.mark.parametrize("po", CATALOGUES, ids=rel)
def test_catalogue_is_complete(po):
    """Header names the language; no entry is fuzzy or left empty."""
    catalogue = read_catalogue(po)
    assert catalogue.locale is not None and str(catalogue.locale) == language_of(po), (
        f"{rel(po)}: the header should say 'Language: {language_of(po)}', not {catalogue.locale}"
    )
    assert not catalogue.fuzzy, f"{rel(po)}: the header is marked fuzzy"
    assert messages(catalogue), f"{rel(po)} has no entries"
    problems = []
    for message in messages(catalogue):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"empty msgstr: {message.id!r}")
    assert not problems, f"{rel(po)}:\n" + "\n".join(problems)


def real_project_exclusions() -> list[str]:
    """conf/conf.py's exclude_patterns (an override replaces them)."""
    source = (REPO / "conf" / "conf.py").read_text(encoding="utf-8")
    match = re.search(r"^exclude_patterns = (\[.*?\])$", source, re.M)
    assert match, "conf/conf.py has no exclude_patterns line"
    return ast.literal_eval(match.group(1))


@pytest.fixture(scope="module")
def templates(real_project, tmp_path_factory):
    """The message templates (.pot) of the current English source, one per
    document, from the trainer edition: it has every message of the participant
    edition plus the trainer notes.

    Only the hand-written pages are read: the pages generated from the graph
    have no catalogues (their German comes from the graph), and skipping them
    halves the build. Their links from hand-written pages are then unresolved;
    the HTML builds check those links, so here the warnings are off. (The
    messages are the same as in a build of every page: checked when this was
    introduced.)"""
    out = tmp_path_factory.mktemp("gettext")
    generated = ["id/**", "def/**"]  # (not reference/generated: a toctree globs it)
    code = run_sphinx(
        real_project,
        out,
        out / ".doctrees",
        "gettext",
        {
            "citydiplo_validate": False,
            "citydiplo_edition": "trainer",
            "exclude_patterns": [*real_project_exclusions(), *generated],
            "suppress_warnings": ["toc.excluded", "myst.xref_missing", "ref.term", "ref.doc"],
        },
        os.cpu_count() or 1,
        status=io.StringIO(),
    )
    assert code == 0, "the gettext builder reported warnings"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("po", CATALOGUES, ids=rel)
def test_catalogue_is_not_stale(po, templates):
    """Every msgid still occurs in the English source of its document."""
    pot = templates / f"{docname_of(po)}.pot"
    assert pot.is_file(), f"{rel(po)}: there is no document handbook/{docname_of(po)}.md any more"
    current = {m.id for m in messages(read_catalogue(pot))}
    stale = [m.id for m in messages(read_catalogue(po)) if m.id not in current]
    assert not stale, (
        f"{rel(po)} has messages that are no longer in handbook/{docname_of(po)}.md "
        "(update it as described in CONTRIBUTING.md, 'Translating the handbook'):\n" + "\n".join(repr(s) for s in stale)
    )


def page_text(path: Path) -> str:
    """The visible text of an HTML page, with whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", html.unescape(text))


@pytest.mark.slow
def test_german_landing_page_is_translated(german_site):
    catalogue = read_catalogue(LOCALES / "de" / "LC_MESSAGES" / "index.po")
    # sentences without markup, so that they appear in the HTML as written
    plain = [m for m in messages(catalogue) if m.string != m.id and len(m.id) > 30 and not MARKUP.search(m.id)]
    assert plain, "index.po should have plain sentences to look for"
    text = page_text(german_site / "index.html")
    for message in plain:
        assert message.string in text, f"German of {message.id!r} missing from the German landing page"
        assert message.id not in text, f"English {message.id!r} still on the German landing page"


@pytest.mark.slow
def test_pages_without_catalogue_say_so_in_german(german_site):
    """A handbook page with no German catalogue gets a German note, and its
    English text is marked lang="en" for screen readers and search engines."""
    page = (german_site / "modules" / "gfmd" / "what-is-the-gfmd.html").read_text(encoding="utf-8")
    assert not (LOCALES / "de" / "LC_MESSAGES" / "modules" / "gfmd" / "what-is-the-gfmd.po").exists()
    assert "Noch nicht übersetzt" in page and "erscheint auf Englisch" in page
    assert re.search(r'<html [^>]*lang="de"', page)
    assert re.search(r'<div lang="en">\s*<section id="', page)
    # translated pages, and pages generated from the graph, carry no note
    for name in ("index.html", "routes/officials.html", "id/gfmd.html", "reference/generated/glossary.html"):
        assert "citydiplo-untranslated" not in (german_site / name).read_text(encoding="utf-8"), name


@pytest.mark.slow
def test_translated_checklists_keep_their_tick_boxes(german_site, real_project):
    """MyST puts a checkbox into each task-list item's paragraph; a translation
    replaces that paragraph, and the extension puts the box back."""
    for po in sorted(LOCALES.glob("de/LC_MESSAGES/modules/*/checklist.po")):
        docname = docname_of(po)
        source = (real_project.handbook_dir / f"{docname}.md").read_text(encoding="utf-8")
        tasks = len(re.findall(r"^\s*- \[[ xX]\] ", source, re.M))
        page = (german_site / f"{docname}.html").read_text(encoding="utf-8")
        assert tasks and page.count('class="task-list-item-checkbox"') == tasks, docname


@pytest.mark.slow
def test_exercise_titles_are_translated(german_site, real_project):
    """The name of an exercise is a message of its own; the word "Übung" and
    the duration come from the extension, in German."""
    for po in sorted(LOCALES.glob("de/LC_MESSAGES/modules/*/exercises.po")):
        docname = docname_of(po)
        source = (real_project.handbook_dir / f"{docname}.md").read_text(encoding="utf-8")
        names = re.findall(r"^:{3,}\{exercise\}\s+(.+)$", source, re.M)
        german = {m.id: m.string for m in messages(read_catalogue(po))}
        text = page_text(german_site / f"{docname}.html")
        assert names, docname
        for name in names:
            assert f"Übung: {html.unescape(german[name.strip()])} (" in text, (docname, name)
        assert "min)" not in text, f"{docname}: durations should read 'Min.'"
