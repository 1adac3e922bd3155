"""Course packs: definitions, print forms, and the PDFs themselves.

The PDFs are opened with pypdf (:mod:`citydiplo.print.pdfcheck`) and checked for
an outline that matches the chapters, a table of contents with page numbers,
trainer notes only in the trainer edition, embedded fonts, no missing glyphs
and internal links that all resolve. The fixture handbook
(tests/roots/test-coursepack) has one small module that uses every kind of
component; the real packs are built at the end (marked slow).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import shutil
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from citydiplo.cli import main
from citydiplo.config import load_project
from citydiplo.files import build_lock
from citydiplo.print.agenda import (
    AgendaError,
    AgendaSettings,
    half_day_numbers,
    make_agenda,
    parse_time,
    sessions_from_rows,
)
from citydiplo.print.builder import HEAD_LIMIT, short_head, with_header_scopes
from citydiplo.print.coursepack import (
    EDITIONS,
    CoursePackError,
    agendas,
    build_packs,
    compose_html,
    format_date,
    lines_alone,
    load_packs,
    pack_documents,
    pdf_path,
    print_strings,
    render_pdf,
    resolve_doc,
    tag_write_spaces,
    toctree_entries,
    validate_vocab,
    without_lines_alone,
)
from citydiplo.print.forms import DIRECTIVES, ROLES, scan, scan_files, unsupported
from citydiplo.print.handouts import (
    ATTENDANCE_ROWS,
    HandoutError,
    Workshop,
    handouts,
    read_names,
    workshop_details,
)
from citydiplo.print.pdfcheck import inspect_pdf, structure_languages

from .conftest import REPO, TESTS, edit, make_project
from .test_duplicates import Paragraph as DupParagraph
from .test_duplicates import near_duplicates
from .test_duplicates import shingles as dup_shingles
from .test_duplicates import words as dup_words

FIXTURE_PACKS = ("demo", "demo-plus")
GENERATED = ("id", "def", "generated", "_coursepacks")


def make_coursepack_project(root: Path):
    make_project(root, TESTS / "roots" / "test-coursepack")
    shutil.copytree(TESTS / "data" / "coursepack" / "vocab", root / "vocab", dirs_exist_ok=True)
    shutil.copy(TESTS / "data" / "coursepack" / "conf" / "coursepacks.toml", root / "conf" / "coursepacks.toml")
    return load_project(root)


FACILITATOR_NOTES = {
    # session number: (minutes, page of the session)
    1: (15, "index"),
    2: (40, "basics"),
    3: (45, "basics"),
    4: (20, "practice"),
    5: (60, "practice"),
    6: (30, "basics"),
    7: (10, "index"),
}


def facilitator_note(number: int, minutes: int) -> str:
    return (
        f"\n:::{{facilitator-note}} {number}\n:minutes: {minutes}\n\n"
        f"**Purpose.** FACILITATOR-NOTE-{number}: participants can use what this session covers.\n\n"
        "**Key messages.**\n\n- The forum is led by states.\n- Cities speak through the mechanism.\n"
        "- A statement names one local result.\n\n"
        "**Say and show.** Show the page of the session.\n\n**Ask.** Who has taken part before?\n\n"
        f"**Timing.** {minutes} min in all.\n\n**Shorter or online.** Keep the questions, drop the input.\n:::\n"
    )


def add_facilitator_notes(project) -> None:
    """One facilitator note per session of the demo module's table, on the
    page the session uses (as tests/test_content.py asks of the real modules)."""
    folder = project.handbook_dir / "modules" / "demo"
    for page in ("index", "basics", "practice"):
        notes = "".join(facilitator_note(n, m) for n, (m, p) in FACILITATOR_NOTES.items() if p == page)
        anchor = "```{toctree}\n" if page == "index" else "## Sources\n"
        edit(folder / f"{page}.md", anchor, notes + "\n" + anchor)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture project, with a facilitator note for every session and a
    diagram, and every pack built in both editions, once."""
    project = make_coursepack_project(tmp_path_factory.mktemp("cp") / "repo")
    add_facilitator_notes(project)
    basics = project.handbook_dir / "modules" / "demo" / "basics.md"
    edit(basics, "## Background\n", "## Background\n\n:::{forum-diagram} routes gfmd\n:::\n\n")
    assert main(["--root", str(project.root), "coursepack", "--all"]) == 0
    return project


@pytest.fixture
def cp_project(tmp_path):
    return make_coursepack_project(tmp_path / "repo")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def outline_json(project, name: str, edition: str, language: str = "") -> dict:
    tag = f"{name}-{edition}" + (f"-{language}" if language else "")
    return json.loads((project.build_dir / ".coursepack" / tag / "pack.json").read_text())


# ------------------------------------------------------------- definitions
def test_real_pack_definitions_cover_every_module():
    project = load_project(REPO)
    packs = load_packs(project).packs
    modules = sorted(p.parent.name for p in (project.handbook_dir / "modules").glob("*/index.md"))
    assert modules, "no training modules found"
    single = {pack.contents for pack in packs.values() if len(pack.contents) == 1}
    for module in modules:
        assert (f"modules/{module}/index",) in single, f"no course pack for the module {module}"
    combined = [pack for pack in packs.values() if len(pack.contents) > 1]
    assert combined, "no combined pack"
    assert {f"modules/{m}/index" for m in ("forum-access", "gfmd", "imrf", "grf")} <= set(combined[0].contents)


def test_pack_definition_mistakes_name_the_line(cp_project):
    path = cp_project.root / "conf" / "coursepacks.toml"
    path.write_text(
        path.read_text()
        + '\n[packs.broken]\ntitle = "Broken"\naudience = "x"\nduration = "y"\ncontents = ["modules/nowhere"]\n'
        + '\n[packs.Bad_Name]\ntitle = "B"\n'
    )
    with pytest.raises(CoursePackError) as info:
        load_packs(cp_project)
    message = str(info.value)
    lines = path.read_text().splitlines()
    broken_line = lines.index("[packs.broken]") + 1
    assert f"conf/coursepacks.toml:{broken_line}: pack 'broken': no page or module 'modules/nowhere'" in message
    assert "pack 'Bad_Name': the name must be kebab-case" in message
    assert "pack 'Bad_Name': missing audience, duration, contents" in message


def test_pack_texts_in_another_language(cp_project):
    path = cp_project.root / "conf" / "coursepacks.toml"
    demo = load_packs(cp_project).packs["demo"]
    assert demo.title == "A demo module on the GFMD"
    german = demo.in_language("de")
    assert (german.title, german.duration) == ("Ein Demo-Modul zum GFMD", "Ein halber Tag (3 Stunden)")
    assert german.audience == demo.audience  # not given in German: the English stays
    assert demo.in_language("en") == demo
    path.write_text(path.read_text() + '\n[packs.demo-plus.de]\ncontents = ["about"]\n')
    with pytest.raises(CoursePackError) as info:
        load_packs(cp_project)
    assert "[packs.demo-plus.de] may only hold title, subtitle, audience, duration, short_title; not contents" in str(
        info.value
    )


def test_cli_reports_definition_mistakes_without_traceback(cp_project, capsys):
    (cp_project.root / "conf" / "coursepacks.toml").write_text("[packs.x\n")
    assert main(["--root", str(cp_project.root), "coursepack", "x"]) == 1
    err = capsys.readouterr().err
    assert "conf/coursepacks.toml:" in err and "Traceback" not in err


def test_unknown_pack_lists_the_packs(cp_project, capsys):
    assert main(["--root", str(cp_project.root), "coursepack", "nope"]) == 2
    assert "unknown course pack 'nope'; the packs are: demo, demo-plus" in capsys.readouterr().err


def test_pack_documents_follow_the_toctrees(cp_project):
    handbook = cp_project.handbook_dir
    assert resolve_doc(handbook, "modules/demo") == "modules/demo/index"
    assert resolve_doc(handbook, "about.md") == "about"
    assert resolve_doc(handbook, "nowhere") is None
    docs = pack_documents(handbook, ["modules/demo/index", "about"])
    assert docs == ["modules/demo/index", "modules/demo/basics", "modules/demo/practice", "about"]


def test_toctree_entries():
    text = "```{toctree}\n:maxdepth: 1\n:glob:\n\nintro\nThe end <end>\nparts/*\nself\nhttps://x.org\n```\n"
    assert toctree_entries(text) == [("intro", False), ("end", False), ("parts/*", True)]


# ------------------------------------------------------------- print forms
def test_scan_finds_directives_and_roles_but_not_code():
    text = (
        "Text with {entity}`gfmd` and ``{fake}`not a role` ``.\n"
        "::::{tab-set}\n:::{tab-item} A\nSee {term}`pledge`.\n:::\n::::\n"
        "```md\n:::{button-link} in a code block\n:::\n```\n"
        "```{code-block} md\n{badge}`inside code`\n```\n"
        ":::{button-link} https://x.org\nGo\n:::\n"
    )
    uses = scan(text, "page.md")
    assert [(u.kind, u.name, u.line) for u in uses] == [
        ("role", "entity", 1),
        ("directive", "tab-set", 2),
        ("directive", "tab-item", 3),
        ("role", "term", 4),
        ("directive", "code-block", 11),
        ("directive", "button-link", 14),
    ]
    assert [str(u) for u in unsupported(uses)] == [
        "page.md:14: directive {button-link} has no print form in the course packs"
    ]


def test_every_component_the_handbook_uses_has_a_print_form():
    """Fails when a page (real handbook or test fixtures) uses a directive or
    role without a print form: add one to conf/print/coursepack.css and to
    citydiplo.print.forms, with a test, before using it."""
    roots = [REPO / "handbook", *sorted((TESTS / "roots").iterdir())]
    files = [
        path
        for root in roots
        for path in sorted(root.rglob("*.md"))
        if not any(part in GENERATED for part in path.relative_to(root).parts)
    ]
    uses = scan_files(files, REPO)
    assert len({u.name for u in uses}) >= 10, "the scan found suspiciously few components"
    assert [str(u) for u in unsupported(uses)] == []


def test_a_component_without_a_print_form_fails_the_pack(cp_project, capsys):
    page = cp_project.handbook_dir / "modules" / "demo" / "basics.md"
    edit(page, "## Background\n", "## Background\n\n:::{button-link} https://example.org\nGo\n:::\n")
    assert main(["--root", str(cp_project.root), "coursepack", "demo"]) == 1
    err = capsys.readouterr().err
    line = page.read_text().splitlines().index(":::{button-link} https://example.org") + 1
    assert f"handbook/modules/demo/basics.md:{line}: directive {{button-link}} has no print form" in err
    assert "Traceback" not in err
    assert not pdf_path(cp_project, "demo", "participant").exists()


def test_print_forms_documented():
    css = (REPO / "conf" / "print" / "coursepack.css").read_text()
    for selector in (".print-tab", ".print-dropdown", ".sd-card", ".admonition.exercise", ".admonition.trainer-note"):
        assert selector in css
    assert "exercise" in DIRECTIVES and "trainer-note" in DIRECTIVES and "entity" in ROLES
    assert "writing-space" in DIRECTIVES and ".write-space.writing-space" in css and "ul.knowledge-check" in css


# ------------------------------------------------------------- the PDFs
@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("name", FIXTURE_PACKS)
def test_fixture_pack_pdf(built, name, edition):
    pdf = pdf_path(built, name, edition)
    facts = inspect_pdf(pdf)
    outline = outline_json(built, name, edition)
    text = normalise(facts.full_text())

    assert facts.page_size_mm == (210.0, 297.0)
    # the outline: Contents, one entry per chapter (number and title), the glossary
    top = [title for level, title, _ in facts.outline if level == 1]
    chapters = [f"{c['number']} {c['title']}" for c in outline["chapters"]]
    form = {"participant": "Evaluation form", "trainer": "Attendance sheet"}[edition]
    assert top == ["Contents", "Agenda", *chapters, "Appendix Glossary", form]
    assert chapters[:3] == ["1 A demo module on the GFMD", "2 The basics", "3 Practice"]
    sections = [title for level, title, _ in facts.outline if level == 2]
    assert "2.1 Three kinds of city" in sections and "3.1 Drafting a statement" in sections
    # chapters start where the outline says, in order
    pages = [page for level, _, page in facts.outline if level == 1]
    assert pages == sorted(pages)
    # exercises (and, in the trainer edition, trainer notes) are bookmarks under their section
    level3 = [title for level, title, _ in facts.outline if level == 3]
    assert [t for t in level3 if t.startswith("Exercise")] == [
        "Exercise 1: Draft a statement (20 min)",
        "Exercise 2: Map your allies (60 min)",
        *(["Exercise 1: Map your allies at home (30 min)"] if name == "demo-plus" else []),
    ]
    assert ("Trainer note" in level3) == (edition == "trainer")
    # the table of contents: every chapter with its page number
    toc = normalise(facts.text[2])
    assert toc.startswith("Contents Agenda")
    for (_, title, page), chapter in zip(
        [o for o in facts.outline if o[0] == 1][2:-2], outline["chapters"], strict=True
    ):
        assert re.search(rf"{re.escape(chapter['title'])} \.+ {page + 1}\b", toc), (title, toc)
    # cover
    cover = normalise(facts.text[0])
    assert "Course pack" in cover or "COURSE PACK" in cover
    assert {"participant": "Participant edition", "trainer": "Trainer edition"}[edition] in cover
    assert "CC BY 4.0" in cover and built.version in cover
    # trainer notes only in the trainer edition
    assert ("TRAINER-ONLY-TEXT" in text) == (edition == "trainer")
    # every component in its print form: all tabs, the open dropdown, the cards
    for marker in (
        "TAB-ONE-TEXT",
        "TAB-TWO-TEXT",
        "TAB-THREE-TEXT",
        "DROPDOWN-BODY-TEXT",
        "CARD-ONE-TEXT",
        "CARD-TWO-TEXT",
        "IMPORTANT-TEXT",
        "NOTE-TEXT",
        "TIP-TEXT",
        "WARNING-TEXT",
        "EXERCISE-TEXT",
        "Exercise 1: Draft a statement (20 min)",
        "Exercise 2: Map your allies (60 min)",
        "Large city",
        "Small city",
        "City of origin",
        "How the forum began",
        "United Cities and Local Governments",  # the query table
    ):
        assert marker in text, marker
    # a checklist item keeps a line for who does it and by when (citydiplo.site.theme.TaskFields)
    assert re.search(r"Draft the statement Who\s*By when", text), "a checklist item lost its who/by-when lines"
    # characters beyond ASCII come out as themselves (no missing glyphs)
    for word in ("Zürich", "“quotes”", "ü, ß, é", "en dash"):
        assert word in text
    # fonts: all embedded
    assert facts.fonts and facts.unembedded_fonts == []
    # tagged (PDF/UA-1), with the document's language, for screen readers
    assert facts.tagged and facts.language == "en"
    # internal links: many, and every one resolves
    assert facts.broken_links == []
    targets = {dest for _, dest in facts.internal_links}
    assert {c["anchor"] for c in outline["chapters"]} <= targets  # the table of contents
    assert "glossary-term-pledge" in targets  # {term} → the appendix
    assert "modules-demo-practice--drafting-a-statement" in targets  # a link to a heading on another page
    # the glossary appendix: terms the pack uses, not the others
    glossary_page = next(page for level, title, page in facts.outline if title == "Appendix Glossary")
    glossary = normalise(facts.text[glossary_page])
    assert "Appendix Glossary" in glossary
    assert "Pledge" in glossary and "Side event" in glossary and "Troika" not in glossary
    # links out: entities to their IRI, pages outside the pack to the website
    uris = {uri for _, uri in facts.external_links}
    assert "https://w3id.org/citydiplo/id/gfmd" in uris
    assert "https://gfmd.org/process/gfmd-mayors-mechanism" in uris
    assert ("https://w3id.org/citydiplo/about.html" in uris) == (name == "demo")
    # the form at the end: the evaluation form for participants, the attendance sheet for the trainer
    assert re.search(rf"{form} \.+ {facts.pages}\b", toc)  # in the contents, on the last page
    last = normalise(facts.text[-1])
    assert "Certificate" not in text  # only with --certificate
    if edition == "participant":
        assert "Attendance sheet" not in text
        # every session of the agenda, numbered as there, and the overall rating, each with boxes 1–5
        sessions = outline["sessions"][0]["sessions"]
        rows = " ".join(f"{s['number']} {s['title']}" for s in sessions)
        for words in (
            f"Evaluation form {load_packs(built).packs[name].title} "
            "Workshop: Date: Your city or organisation (optional):",
            f"How useful was each session for your work? No. Session 1 2 3 4 5 {rows} Overall 1 2 3 4 5 "
            "How useful was the workshop as a whole for your work? What will you do next?",
            "What was missing, or what should the trainers change? Anything else you want to tell us",
        ):
            assert words in last, (words, last)
        html = (built.build_dir / ".coursepack" / f"{name}-{edition}" / "pack.html").read_text()
        evaluation = html.split('id="handout-evaluation"')[1]
        assert evaluation.count('<span class="box"></span>') == 5 * (len(sessions) + 1)
        assert evaluation.count('class="write-line"') == 3 + 3 + 2  # lines to write on
        assert evaluation.count('class="form-blank"') == 3  # workshop, date, city: not given, so blank
    else:
        assert "Evaluation form" not in text
        for words in (
            "Attendance sheet Workshop: Date: Trainer: No. Name City or organisation Email Signature "
            "1 2 3 4 5 6 7 8 9 10 11 12 By signing, participants confirm",
        ):
            assert words in last, (words, last)
        assert facts.page_sizes_mm[-1] == (297.0, 210.0)  # landscape, for room to write
    # PDF metadata
    assert facts.metadata["/Title"].startswith(load_packs(built).packs[name].title)
    assert facts.metadata["/Author"] == "The citydiplo project"


def test_pdf_files_and_no_stray_output(built):
    out = built.build_dir / "coursepacks"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{name}-{edition}.pdf" for name in FIXTURE_PACKS for edition in EDITIONS
    )
    assert (built.handbook_dir / "_coursepacks" / "demo.md").is_file()


def test_site_build_ignores_the_generated_pack_pages(built):
    """handbook/_coursepacks/ holds the packs' root pages; the website build
    under -nW must neither warn about them nor publish them."""
    assert main(["--root", str(built.root), "build", "--no-dump", "-j", "1"]) == 0
    assert not (built.build_dir / "html" / "_coursepacks").exists()
    # the exercise bank is no page; on the website its text shows at the first use only
    assert not (built.build_dir / "html" / "exercises").exists()
    practice = (built.build_dir / "html" / "modules" / "demo" / "practice.html").read_text()
    about = (built.build_dir / "html" / "about.html").read_text()
    assert 'id="exercise-map-allies"' in practice and "EXERCISE-TWO-TEXT" in practice
    assert "BANK-VARIANT-TWO" in about and "EXERCISE-TWO-TEXT" not in about
    assert re.search(r'<p class="bank-see">[^<]*<a [^>]*href="modules/demo/practice.html#exercise-map-allies"', about)


def test_weasyprint_problems_fail_the_render(tmp_path):
    css = tmp_path / "print.css"
    css.write_text("@page { size: A4 }")
    out = tmp_path / "x.pdf"
    out.write_bytes(b"old")
    with pytest.raises(CoursePackError, match="No anchor #nowhere for internal URI reference"):
        render_pdf('<p><a href="#nowhere">broken</a></p>', tmp_path, css, out)
    with pytest.raises(CoursePackError, match=r"\.notdef glyph"):
        render_pdf("<p>\ue000</p>", tmp_path, css, out)  # a private-use character no font has
    assert out.read_bytes() == b"old"  # the previous PDF is kept
    assert not list(tmp_path.glob("*.tmp"))
    assert render_pdf("<html lang='en'><h1 id='a'>Fine</h1><a href='#a'>link</a></html>", tmp_path, css, out) == 1


def test_no_page_holds_only_the_last_lines_of_a_space_to_write(tmp_path):
    """An exercise's ruled lines that run onto a page of their own make a
    stub page; the render takes those lines (and one more) out and lays the
    pack out again, so that the exercise ends on its page."""
    css = tmp_path / "print.css"
    css.write_text(
        "@page { size: 100mm 100mm; margin: 10mm; @top-left { content: 'Running head' } }"
        ".write-line { height: 8mm; border-bottom: 0.5pt solid #888 } .exercise { border: 1pt solid #000 }"
    )
    space = '<div class="write-space">' + '<div class="write-line"></div>' * 8 + "</div>"
    html = (
        "<html lang='en'><body>"
        f"<div class='exercise'><p>{'Words to read. ' * 12}</p>{space}</div>"
        f"<div class='exercise' style='break-before: page'><p>Another exercise.</p>{space}</div>"
        "</body></html>"
    )
    tagged = tag_write_spaces(html)
    assert tagged.count('data-write="1"') == 8 and tagged.count('data-write="2"') == 8
    seen = []

    def relayout(document, text):
        seen.append((len(document.pages), lines_alone(document)))
        return without_lines_alone(document, text)

    out = tmp_path / "x.pdf"
    assert render_pdf(tagged, tmp_path, css, out, relayout) == 2
    (pages, spilled), (pages_after, spilled_after) = seen
    assert pages == 3 and list(spilled) == ["1"] and spilled["1"] >= 1  # the first exercise's lines ran over
    assert pages_after == 2 and spilled_after == {}
    assert render_pdf(tagged, tmp_path, css, out) == 3  # without it: the stub page


def test_an_answers_lines_lose_only_what_ran_over(monkeypatch):
    """An exercise's space loses one line more than ran over (its box's
    bottom edge ran over too); a knowledge-check answer's only those."""
    import citydiplo.print.coursepack as coursepack

    monkeypatch.setattr(coursepack, "lines_alone", lambda document: {"1": 1, "2": 1})
    line = '<div class="write-line"></div>'
    html = tag_write_spaces(
        f'<div class="write-space">{line * 8}</div><div class="write-space writing-space">{line * 3}</div>'
    )
    trimmed = without_lines_alone(None, html)
    assert trimmed.count('data-write="1"') == 6 and trimmed.count('data-write="2"') == 2


def test_failed_pack_build_keeps_the_previous_pdf(cp_project, capsys):
    assert main(["--root", str(cp_project.root), "coursepack", "demo", "--edition", "trainer"]) == 0
    pdf = pdf_path(cp_project, "demo", "trainer")
    before = pdf.read_bytes()
    edit(
        cp_project.handbook_dir / "modules" / "demo" / "practice.md",
        "{entity}`source-policy-paper`",
        "{entity}`x-typo`",
    )
    assert main(["--root", str(cp_project.root), "coursepack", "demo", "--edition", "trainer"]) == 1
    err = capsys.readouterr().err
    assert "practice.md:" in err and "unknown entity 'x-typo'" in err and "Traceback" not in err
    assert "their old PDFs were kept" in err
    assert pdf.read_bytes() == before


def test_invalid_vocab_stops_before_any_pack(cp_project, capsys):
    edit(cp_project.root / "vocab/data/actors.ttl", '"Global Forum on Migration and Development"@en ,', "")
    assert main(["--root", str(cp_project.root), "coursepack", "--all"]) == 1
    assert "no course pack was built" in capsys.readouterr().err
    assert not (cp_project.build_dir / "coursepacks").exists()


# ------------------------------------------------------------- the real packs
def trainer_note_snippets(body_html: str) -> list[str]:
    """The first words of every trainer note in a trainer-edition body."""
    snippets = []
    for block in re.findall(r'<div class="trainer-note admonition"[^>]*>(.*?)</div>', body_html, re.S):
        paragraphs = re.findall(r"<p>(.*?)</p>", block, re.S)
        if paragraphs:
            words = normalise(re.sub(r"<[^>]+>", "", paragraphs[0])).split()
            snippets.append(" ".join(words[:6]))
    return snippets


class _ExerciseBlocks(HTMLParser):
    """The text of every exercise and trainer note of a pack's body, one list
    of paragraphs (and list items) per block. Facilitator notes are left out:
    they are each session's script, and echo its exercise on purpose."""

    BLOCK = frozenset({"p", "li", "ul", "ol", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th"})

    def __init__(self):
        super().__init__()
        self.blocks: list[list[str]] = []
        self.depth = 0  # divs open since the current block began (0: outside any)
        self.chunk: list[str] = []
        self.skip = False

    def flush(self):
        text = normalise("".join(self.chunk))
        if text and self.depth and not self.skip:
            self.blocks[-1].append(text)
        self.chunk = []
        self.skip = False

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCK:
            self.flush()
        classes = (dict(attrs).get("class") or "").split()
        if tag == "p" and "bank-see" in classes:
            self.skip = True  # a pointer to the printed exercise: the same words each time, by design
        if tag != "div":
            return
        if self.depth:
            self.depth += 1
        elif {"exercise", "trainer-note"} & set(classes) and "facilitator-note" not in classes:
            self.depth = 1
            self.blocks.append([])

    def handle_endtag(self, tag):
        if tag in self.BLOCK:
            self.flush()
        if tag == "div" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        self.chunk.append(data)


def repeated_exercise_text(body_html: str) -> list[str]:
    """Passages that two exercises (or two trainer notes) of one pack share:
    the same paragraph of twelve words or more, or a near-duplicate in the
    sense of tests/test_duplicates.py. Empty when each exercise is printed once."""
    parser = _ExerciseBlocks()
    parser.feed(body_html)
    found, seen = [], {}
    paragraphs = []
    for n, block in enumerate(parser.blocks):
        for text in block:
            tokens = dup_words(text)
            if len(tokens) >= 12:
                if text in seen and seen[text] != n:
                    found.append(text[:80])
                seen.setdefault(text, n)
            if len(tokens) >= 20:
                paragraphs.append(DupParagraph(f"block {n}", 0, text, dup_shingles(tokens)))
    found += [f"{a.text[:60]} ~ {b.text[:60]} ({score:.2f})" for a, b, score in near_duplicates(paragraphs)]
    return found


def test_repeated_exercise_text_is_found():
    step = "Go through every route into the forum that the table lists and mark each one as open or closed."
    html = (
        f'<div class="exercise admonition"><p class="admonition-title">Exercise 1</p><ol><li>{step}</li></ol></div>'
        f'<div class="exercise admonition"><p class="admonition-title">Exercise 2</p><p>Other words.</p>'
        f"<ol><li><p>{step}</p></li></ol></div>"
    )
    assert repeated_exercise_text(html) == [step[:80]]
    pointer = '<p class="bank-see">The steps for this exercise are the same in every module; see exercise 1.</p>'
    blocks = (f'<div class="exercise admonition">{pointer}</div>',) * 2
    assert repeated_exercise_text("".join(blocks)) == []
    assert repeated_exercise_text(html.replace(step, "A different step.", 1)) == []


@pytest.mark.slow
def test_real_course_packs(real_build, tmp_path):
    """Every pack of the handbook in both editions, with the same checks.

    The PDFs go to a temporary build folder, so running the tests leaves
    the user's own build/coursepacks/ alone."""
    project = dataclasses.replace(real_build, build_dir=tmp_path / "build")
    settings = load_packs(project)
    validate_vocab(project)
    # The combined pack holds every module's chapters, so it carries every
    # page, trainer note and link that the single-module packs carry. (Building all ten PDFs took
    # 17 of the suite's 36 minutes on a loaded machine.)
    combined = [name for name, pack in settings.packs.items() if len(pack.contents) > 1]
    single = [name for name, pack in settings.packs.items() if len(pack.contents) == 1]
    # The single-module layout is the fixture packs' (test_fixture_pack_pdf and
    # the kit tests above), so the real packs tested here are the combined ones.
    chosen = combined
    covered = {page for name in combined for page in settings.packs[name].contents}
    assert covered >= {page for name in single for page in settings.packs[name].contents}
    jobs = [(settings.packs[name], edition) for name in chosen for edition in EDITIONS]
    # The packs compile the handbook's generated pages into handbook/, as the sites' builds
    # do in other workers: hold their lock (their build folder's), not only this folder's.
    with build_lock(real_build.build_dir):
        built = list(build_packs(project, jobs, settings, workers=2))
    for pack, edition, result in built:
        assert not isinstance(result, CoursePackError), (pack.name, edition, str(result))
    for name in chosen:
        texts = {}
        for edition in EDITIONS:
            facts = inspect_pdf(pdf_path(project, name, edition))
            outline = outline_json(project, name, edition)
            chapters = [f"{c['number']} {c['title']}" for c in outline["chapters"]]
            level = 2 if outline["parts"] else 1
            assert [t for lv, t, _ in facts.outline if lv == level and t[0].isdigit()] == chapters, name
            if outline["parts"]:
                parts = [f"Part {p['number']} {p['title']}" for p in outline["parts"]]
                assert [t for lv, t, _ in facts.outline if lv == 1 and t.startswith("Part ")] == parts
            assert facts.outline[0][1] == "Contents"
            assert normalise(facts.text[2]).startswith("Contents")
            assert facts.page_size_mm == (210.0, 297.0)
            assert facts.unembedded_fonts == [], (name, edition)
            assert facts.tagged and facts.language == "en", (name, edition)
            assert facts.broken_links == [], (name, edition, facts.broken_links[:5])
            assert len(facts.internal_links) > len(chapters)
            texts[edition] = normalise(facts.full_text())
        body = (project.build_dir / ".coursepack" / f"{name}-trainer" / "body.html").read_text()
        assert "untranslated-note" not in body, f"{name}: the English pack is the source, nothing is untranslated"
        # each exercise once (the exercise bank): no exercise or trainer note repeats another's text,
        # and every bank entry that more than one module uses is printed once and referred to after
        for edition in EDITIONS:
            edition_body = (project.build_dir / ".coursepack" / f"{name}-{edition}" / "body.html").read_text()
            assert repeated_exercise_text(edition_body) == [], (name, edition)
            exercises = outline_json(project, name, edition)["exercises"]
            banks = [e["bank"] for e in exercises if e["bank"]]
            assert len(set(banks)) == 3 and len(banks) > 3, (name, edition, banks)
            assert edition_body.count('class="bank-see"') == (len(banks) - len(set(banks))) * (
                2 if edition == "trainer" else 1
            ), (name, edition)
        snippets = trainer_note_snippets(body)
        assert snippets, f"{name}: the trainer edition has no trainer notes"
        for snippet in snippets:
            assert snippet in texts["trainer"], (name, snippet)
            assert snippet not in texts["participant"], (name, snippet)


@pytest.fixture(scope="module")
def german_trainer_pack(built):
    """The demo pack's German trainer edition, with the workshop's forms (built once)."""
    args = ["--root", str(built.root), "coursepack", "demo", "--edition", "trainer", "--language", "de"]
    forms = ["--workshop", "Migration und Städte, Leipzig", "--date", "2027-03-15", "--certificate"]
    assert main([*args, *forms]) == 0
    return pdf_path(built, "demo", "trainer", "de")


def test_german_edition(built, german_trainer_pack):
    pdf = german_trainer_pack
    assert pdf.name == "demo-trainer-de.pdf"
    facts = inspect_pdf(pdf)
    text = normalise(facts.full_text())
    assert "Ausgabe für Trainerinnen und Trainer" in text
    assert "Globales Forum für Migration und Entwicklung" in text  # entity labels in the build language
    assert "Übung 1: Draft a statement (20 Min.)" in text
    assert "Ablauf" in text and "Mittagspause" in text  # the agenda, in German
    assert "Ein Demo-Modul zum GFMD" in text and "Ein halber Tag (3 Stunden)" in text  # [packs.demo.de]
    # the fixture has no German catalogues: every chapter says so, and its text is marked English
    outline = outline_json(built, "demo", "trainer", "de")
    assert text.count("Dieses Kapitel ist noch nicht ins Deutsche übersetzt") == len(outline["chapters"])
    body = (built.build_dir / ".coursepack" / "demo-trainer-de" / "body.html").read_text()
    assert body.count('<div lang="en">') == len(outline["chapters"])
    chapters = [f"{c['number']} {c['title']}" for c in outline["chapters"]]
    assert [t for lv, t, _ in facts.outline if lv == 1 and t[0].isdigit()] == chapters  # bookmarks still there
    assert facts.outline[0][1] == "Inhalt"
    assert facts.broken_links == [] and facts.unembedded_fonts == []
    assert facts.tagged and facts.language == "de"
    # the forms, in German, with the workshop's name and date
    top = [t for lv, t, _ in facts.outline if lv == 1]
    assert top[-3:] == ["Anhang Glossar", "Anwesenheitsliste", "Teilnahmebescheinigung"]
    assert "Workshop: Migration und Städte, Leipzig Datum: 15. März 2027 Trainerin oder Trainer:" in text
    assert "Nr. Name Stadt oder Organisation E-Mail Unterschrift 1 2 3" in text
    certificate = normalise(facts.text[-1])
    for words in (
        "Teilnahmebescheinigung Hiermit wird bestätigt, dass Name der oder des Teilnehmenden am Workshop "
        "Migration und Städte, Leipzig am 15. März 2027 teilgenommen hat.",
        "Der Workshop folgte der Kursmappe „Ein Demo-Modul zum GFMD“. Er umfasste 3 Stunden und 40 Minuten Einheiten.",
        "Ort und Datum Trainerin oder Trainer (Name und Unterschrift)",
    ):
        assert words in certificate, (words, certificate)
    # the tagged PDF: the untranslated chapters are English (/Lang en on their part of the
    # structure tree), the rest (cover, contents, agenda, glossary, forms) German
    elements = structure_languages(pdf)
    chapter_pages = {page for lv, t, page in facts.outline if lv == 1 and t[0].isdigit()}
    headings = [(e.page, e.language) for e in elements if e.tag == "H1"]
    # every page a top-level bookmark points to starts with a heading (a trainer
    # note's bookmark, one level down, may point into the middle of a chapter)
    assert {page for page, _ in headings} >= chapter_pages | {p for lv, _, p in facts.outline if lv == 1}
    for page, language in headings:
        assert language == ("en" if page in chapter_pages else "de"), (page, language, headings)
    assert sum(e.own_language == "en" for e in elements) >= len(outline["chapters"])
    paragraphs = {e.language for e in elements if e.tag == "P" and e.page in chapter_pages}
    assert paragraphs == {"en", "de"}  # the English text and the German note that it is not translated


# ------------------------------------------------------------- the trainer's kit
def assert_times_add_up(agenda: dict, start: str) -> None:
    """Each row starts when the one before ends; the day lasts its sessions plus its breaks."""
    rows = agenda["rows"]
    assert rows and rows[0]["start"] == start
    for before, row in itertools.pairwise(rows):
        assert row["start"] == before["end"], (before, row)
    for row in rows:
        assert parse_time(row["end"]) - parse_time(row["start"]) == row["minutes"], row
    assert rows[-1]["end"] == agenda["end"]
    sessions = sum(r["minutes"] for r in rows if r["kind"] == "session")
    breaks = sum(r["minutes"] for r in rows if r["kind"] != "session")
    assert (agenda["session_minutes"], agenda["break_minutes"]) == (sessions, breaks)
    assert parse_time(agenda["end"]) - parse_time(start) == sessions + breaks
    assert rows[0]["kind"] == rows[-1]["kind"] == "session"  # a day never starts or ends with a break


DEMO_SESSIONS = [
    {"number": 1, "title": "Welcome", "full": 15, "half": 15},
    {"number": 2, "title": "Input", "full": 40, "half": 40},
    {"number": 3, "title": "Case", "full": 45, "half": None},
    {"number": 4, "title": "Exercise 1", "full": 60, "half": 45},
    {"number": 5, "title": "Exercise 2", "full": 90, "half": None},
    {"number": 6, "title": "Input", "full": 80, "half": 30},
    {"number": 7, "title": "Close", "full": 30, "half": 15},
]


def test_agenda_clock_times_and_default_breaks():
    settings = AgendaSettings()
    full = make_agenda(DEMO_SESSIONS, "full", "09:00", settings.breaks["full"])
    assert_times_add_up(full, "09:00")
    assert [(r["kind"], r["start"], r["minutes"]) for r in full["rows"] if r["kind"] != "session"] == [
        ("break", "10:40", 15),  # after 100 minutes of sessions: the first boundary after 90
        ("lunch", "13:25", 60),  # after 250 (≥ 180)
        ("break", "15:45", 15),  # after 330 (≥ 270)
    ]
    assert (full["session_minutes"], full["break_minutes"], full["end"]) == (360, 90, "16:30")
    half = make_agenda(DEMO_SESSIONS, "half", "13:30", settings.breaks["half"])
    assert_times_add_up(half, "13:30")
    assert [r["number"] for r in half["rows"] if r["kind"] == "session"] == [1, 2, 4, 6, 7]
    assert [r["kind"] for r in half["rows"]].count("break") == 1 and "lunch" not in str(half["rows"])
    assert (half["session_minutes"], half["end"]) == (145, "16:10")
    with pytest.raises(AgendaError, match="not a time of day"):
        make_agenda(DEMO_SESSIONS, "full", "9h", settings.breaks["full"])


def test_session_tables_in_both_layouts():
    one_column = [
        ["#", "Session", "Page", "Duration"],
        ["1", "Welcome", "this page", "15 min"],
        ["2", "Input", "x", "40 min"],
        ["3", "Case", "x", "30 min"],
        ["", "Total", "", "85 min"],
    ]
    assert sessions_from_rows(one_column, [1, 3]) == [
        {"number": 1, "title": "Welcome", "full": 15, "half": 15},
        {"number": 2, "title": "Input", "full": 40, "half": None},
        {"number": 3, "title": "Case", "full": 30, "half": 30},
    ]
    two_columns = [
        ["#", "Session", "Pages", "Format", "Full day", "Half day"],
        ["1", "Opening", "this page", "Input", "15", "10"],
        ["2", "Case", "x", "Reading", "40", "–"],
    ]
    assert [(s["full"], s["half"]) for s in sessions_from_rows(two_columns, None)] == [(15, 10), (40, None)]
    assert sessions_from_rows([["1", "Not", "a session table"], ["2", "x", "y"]], None) == []
    text = "**Half-day version (3 hours):** sessions 1, 2, 3, 5, 6 and 10 (15 + 40 = 55)."
    assert half_day_numbers(text) == [1, 2, 3, 5, 6, 10]
    assert half_day_numbers("No half day here.") is None


def test_every_real_module_has_a_session_table_that_adds_up():
    """The agenda is computed from the modules' session tables: each must
    parse, and its sessions must add up to the table's own total."""
    for index in sorted((REPO / "handbook" / "modules").glob("*/index.md")):
        source = index.read_text(encoding="utf-8")
        rows = [
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in source.splitlines()
            if line.startswith("|") and not line.startswith("|--")
        ]
        sessions = sessions_from_rows(rows, half_day_numbers(source))
        assert len(sessions) >= 5, index
        total = next(row for row in rows if "Total" in row[1])
        totals = [int(re.match(r"\**(\d+)", cell)[1]) for cell in total[2:] if re.match(r"\**\d+", cell)]
        assert sum(s["full"] for s in sessions) == totals[0], index
        half = sum(s["half"] or 0 for s in sessions)
        assert 150 <= half < totals[0], index
        if len(totals) > 1:
            assert half == totals[1], index
        for day in ("full", "half"):
            assert_times_add_up(make_agenda(sessions, day, "09:00", AgendaSettings().breaks[day]), "09:00")


def test_agenda_settings_and_bad_start(cp_project, capsys):
    path = cp_project.root / "conf" / "coursepacks.toml"
    original = path.read_text()
    path.write_text(
        '[settings.agenda]\nstart = "08:30"\nhalf_day_breaks = [{after = 60, minutes = 20, label = "break"}]\n\n'
        + original
    )
    settings = load_packs(cp_project).agenda
    assert settings.start == "08:30" and settings.breaks["half"][0].minutes == 20
    assert settings.breaks["full"] == AgendaSettings().breaks["full"]  # the default stays
    path.write_text('[settings.agenda]\nfull_day_breaks = [{after = 90, minutes = 15, label = "nap"}]\n\n' + original)
    with pytest.raises(CoursePackError, match=r"\[settings.agenda\]: full_day_breaks: label must be one of"):
        load_packs(cp_project)
    path.write_text(original)
    assert main(["--root", str(cp_project.root), "coursepack", "demo", "--start", "25:00"]) == 2
    err = capsys.readouterr().err
    assert "--start: '25:00' is not a time of day" in err and "Traceback" not in err


def test_running_heads_are_cut_to_fit():
    assert short_head("Practice") == "Practice"
    long = "4 The Global Compact on Refugees and the Global Refugee Forum: how cities pledge and speak there"
    head = short_head(long)
    assert len(head) <= HEAD_LIMIT and head.endswith("…") and long.startswith(head[:-1])
    assert not head[:-1].endswith(" ")


def page_words(text: str, heads: list[str]) -> list[str]:
    """The words of a page without its running heads and its footer."""
    lines = [line for line in text.splitlines() if line.strip()]
    body = []
    for line in lines:
        stripped = normalise(line)
        for head in heads:
            stripped = stripped.replace(head, " ")
        stripped = re.sub(r"(Participant|Trainer) edition|\b\d+ / \d+\b", " ", stripped)
        body += stripped.split()
    return body


def check_handout(built, name: str) -> None:
    """The participant edition as handout: the agenda's times add up, each
    exercise starts a page, no stub pages, running heads fit on their line,
    every link out of the pack prints where it leads."""
    pdf = pdf_path(built, name, "participant")
    facts = inspect_pdf(pdf)
    outline = outline_json(built, name, "participant")
    body = (built.build_dir / ".coursepack" / f"{name}-participant" / "body.html").read_text()
    heads = sorted({h.replace("&amp;", "&") for h in re.findall(r'data-head="([^"]*)"', body)}, key=len)
    pack = load_packs(built).packs[name]
    pack_head = short_head(pack.short_title or pack.title, 40)
    heads = sorted({*heads, pack_head, "Agenda"}, key=len, reverse=True)

    # the agenda: one page, its clock times add up, the sessions are the module's
    agenda_pages = [i for i, text in enumerate(facts.text) if normalise(text).startswith("Agenda A demo module")]
    assert len(agenda_pages) == 1
    agenda_text = normalise(facts.text[agenda_pages[0]])
    times = re.findall(r"(\d\d:\d\d)–(\d\d:\d\d) (?:(\d+) )?(.+?) (\d+)(?= \d\d:\d\d–| \d+ minutes)", agenda_text)
    assert times and times[0][0] == "09:00"
    for before, row in itertools.pairwise(times):
        assert row[0] == before[1]
    for start, end, _, _, minutes in times:
        assert parse_time(end) - parse_time(start) == int(minutes)
    sessions = outline["sessions"][0]["sessions"]
    assert [int(n) for _, _, n, _, _ in times if n] == [s["number"] for s in sessions]
    session_total = sum(s["full"] for s in sessions)
    breaks = [int(m) for _, _, n, _, m in times if not n]
    assert parse_time(times[-1][1]) - parse_time("09:00") == session_total + sum(breaks)
    assert f"{session_total} minutes of sessions and {sum(breaks)} minutes of breaks" in agenda_text
    assert "Lunch break" in agenda_text and "Exercise 2: map your allies" in agenda_text

    # every exercise starts a page: only its headings come before it there
    headings = {f"{c['number']} {c['title']}" for c in outline["chapters"]}
    headings |= {f"{s['number']} {s['title']}" for c in outline["chapters"] for s in c["sections"]}
    assert [e["number"] for e in outline["exercises"]] == ([1, 2, 1] if name == "demo-plus" else [1, 2])
    for exercise in outline["exercises"]:
        title = exercise["title"]
        assert title.startswith(f"Exercise {exercise['number']}: ")
        page = next(i for i, text in enumerate(facts.text) if title in normalise(text))
        before = normalise(facts.text[page]).split(title)[0]
        for head in [*heads, *sorted(headings, key=len, reverse=True)]:
            before = before.replace(head, " ")
        assert before.split() == [], (exercise, before)
    # no stub page: every page after the cover carries real text
    for index, text in enumerate(facts.text[1:], start=2):
        words = page_words(text, heads)
        assert len(words) >= 15, (index, words)
    # running heads fit: each at most HEAD_LIMIT characters, cut ones end in "…", printed as given
    assert all(len(head) <= HEAD_LIMIT for head in heads)
    assert len(pack_head) <= 40 and (pack_head.endswith("…") == (len(pack.title) > 40))
    assert pack_head.endswith("…") == (name == "demo-plus")  # the fixture has one long title
    all_text = "".join(facts.text)
    assert pack_head in all_text
    # ... and none wraps: each is printed whole on one line of some page
    lines = {normalise(line) for text in facts.text for line in text.splitlines()}
    for head in heads:
        assert any(normalise(head) in line for line in lines), f"running head {head!r} is not on one line"
    # every link out of the pack prints where it leads, in its chapter
    chapter_starts = sorted(page for level, title, page in facts.outline if level == 1 and title[0].isdigit())
    site = load_packs(built).site_url
    assert outline["outside_links"]
    for page, uri in facts.external_links:
        if page < chapter_starts[0] or page >= next(p for lv, t, p in facts.outline if t.startswith("Appendix")):
            continue  # the cover, the colophon and the glossary print their addresses themselves
        start = max(p for p in chapter_starts if p <= page)
        end = min([p for p in chapter_starts if p > page] + [facts.pages])
        chapter_text = re.sub(r"\s+", "", "".join(facts.text[start:end]))
        if uri.startswith(site) and "/id/" not in uri:
            printed = f"seethewebsite:{uri[len(site) :]}"
        else:
            printed = re.sub(r"^https?://", "", uri).rstrip("/")
        assert printed in chapter_text, (page, uri)
    kinds = {link["kind"] for link in outline["outside_links"]}
    assert {"entity", "external"} <= kinds and (("website" in kinds) == (name == "demo"))
    # table header cells name their scope: the agenda's and those of the pages' tables
    html = (built.build_dir / ".coursepack" / f"{name}-participant" / "pack.html").read_text()
    headers = re.findall(r"<th\b[^>]*>", html)
    assert len(headers) > 8 and all('scope="col"' in th or 'scope="row"' in th for th in headers), headers


def test_one_modules_kit(built, german_trainer_pack):
    """Issue 14's "done when", on one module's kit: the demo pack in both
    editions and in German (the packs the ``built`` and ``german_trainer_pack``
    fixtures build for the other tests; this test builds nothing itself)."""
    # agenda times add up, each exercise starts a page, no stub page, no running head
    # wraps, every link out of the pack prints its target (participant edition)
    check_handout(built, "demo")
    facts = {edition: inspect_pdf(pdf_path(built, "demo", edition)) for edition in EDITIONS}
    texts = {edition: normalise(f.full_text()) for edition, f in facts.items()}
    outline = outline_json(built, "demo", "trainer")
    sessions = outline["sessions"][0]["sessions"]
    assert len(sessions) == 7
    # every session has its facilitator notes in the trainer edition (a bookmark each,
    # with the table's minutes, and the note's text), none in the participant's
    bookmarks = {e: [t for _, t, _ in f.outline if t.startswith("Facilitator notes")] for e, f in facts.items()}
    assert sorted(bookmarks["trainer"]) == sorted(
        f"Facilitator notes: session {s['number']} ({s['full']} min)" for s in sessions
    )
    for session in sessions:
        assert f"FACILITATOR-NOTE-{session['number']}:" in texts["trainer"], session
    assert bookmarks["participant"] == []
    assert "facilitator notes" not in texts["participant"].casefold() and "FACILITATOR-NOTE" not in texts["participant"]
    # the diagram's boxes are links in the PDF (a box-sized link over each), to the
    # entities' IRIs, which the list under the drawing prints (checked with the links above)
    participant = pypdf.PdfReader(str(pdf_path(built, "demo", "participant")))
    boxes = []
    for page in participant.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            uri = str((annot.get("/A") or {}).get("/URI", ""))
            x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
            if "/id/" in uri and abs(y2 - y1) > 20 and abs(x2 - x1) > 40:  # larger than a line of text
                boxes.append(uri.rsplit("/", 1)[1])
    assert sorted(boxes) == ["gfmd", "mayors-mechanism", "route-constituency-mechanism"]
    # the trainer edition has no stub page either (the participant's is checked above)
    pack = load_packs(built).packs["demo"]
    heads = [short_head(pack.short_title or pack.title, 40), "Agenda", "Contents"]
    heads += re.findall(
        r'data-head="([^"]*)"', (built.build_dir / ".coursepack" / "demo-trainer" / "body.html").read_text()
    )
    for index, text in enumerate(facts["trainer"].text[1:], start=2):
        assert len(page_words(text, sorted(set(heads), key=len, reverse=True))) >= 15, index
    # the outline lists the exercises, in both editions and in German
    exercises = [e["title"] for e in outline["exercises"]]
    assert exercises == ["Exercise 1: Draft a statement (20 min)", "Exercise 2: Map your allies (60 min)"]
    for edition in EDITIONS:
        assert [t for _, t, _ in facts[edition].outline if t.startswith("Exercise")] == exercises, edition
    german = inspect_pdf(german_trainer_pack)
    assert [t for _, t, _ in german.outline if t.startswith("Übung")][:1] == ["Übung 1: Draft a statement (20 Min.)"]
    # /Lang marks the untranslated parts of the German pack: each chapter's heading is English
    chapter_pages = {page for level, title, page in german.outline if level == 1 and title[0].isdigit()}
    elements = structure_languages(german_trainer_pack)
    assert german.language == "de" and chapter_pages
    assert {e.page for e in elements if e.tag == "H1" and e.language == "en"} == chapter_pages
    assert sum(e.own_language == "en" for e in elements) >= len(chapter_pages)


def test_a_long_pack_title_is_cut_in_the_running_head(built):
    """The same handout checks on the pack with a title too long for a running head."""
    check_handout(built, "demo-plus")


def test_a_bank_exercise_is_printed_once_per_pack(built):
    """The exercise bank (handbook/exercises/NAME.md): the fixture's "Map your
    allies" is used by the module and, with another variant, by the about
    page. The demo pack holds one use, the demo-plus pack both: the common
    text is printed once, at the first use, and the second keeps its own
    variant and points to the first by number, chapter and page."""
    for edition in EDITIONS:
        demo = (built.build_dir / ".coursepack" / f"demo-{edition}" / "body.html").read_text()
        plus = (built.build_dir / ".coursepack" / f"demo-plus-{edition}" / "body.html").read_text()
        assert demo.count("EXERCISE-TWO-TEXT") == 1 and "bank-see" not in demo
        assert plus.count("EXERCISE-TWO-TEXT") == 1
        assert "BANK-VARIANT-ONE:" in plus and "BANK-VARIANT-TWO:" in plus
        trainer = edition == "trainer"
        assert plus.count("BANK-TRAINER-TEXT") == int(trainer) and demo.count("BANK-TRAINER-TEXT") == int(trainer)
        assert ("BANK-VARIANT-TWO-NOTE" in plus) == trainer
        first = next(e for e in outline_json(built, "demo-plus", edition)["exercises"] if e["bank"])
        refs = re.findall(r'<p class="bank-see">(.*?)</p>', plus, re.S)
        assert len(refs) == 1 + int(trainer)
        for ref in refs:
            assert f'href="#{first["anchor"]}"' in ref and f"exercise {first['number']} in chapter 3" in ref
        # on paper: the page the reference names is the page the exercise starts on
        facts = inspect_pdf(pdf_path(built, "demo-plus", edition))
        pages = [normalise(text) for text in facts.text]
        start = next(i for i, text in enumerate(pages) if "Exercise 2: Map your allies (60 min)" in text)
        printed = re.findall(r"exercise 2 in chapter 3 \(p\. (\d+)\)", " ".join(pages))
        assert printed == [str(start + 1)] * len(refs), (printed, start + 1)


def test_trainer_edition_keeps_exercises_in_the_flow(built):
    """Page breaks and writing space are for the handout only."""
    participant = (built.build_dir / ".coursepack" / "demo-participant" / "body.html").read_text()
    trainer = (built.build_dir / ".coursepack" / "demo-trainer" / "body.html").read_text()
    assert participant.count('class="write-space"') == 2 and "write-space" not in trainer
    assert "page-break-before" in participant and "page-break-before" not in trainer
    # a longer exercise gets more lines
    spaces = re.findall(r'<div class="write-space">(.*?)</div>\n', participant)
    assert spaces[0].count("write-line") < spaces[1].count("write-line")


def test_writing_space_prints_lines_in_the_participant_edition_only(built):
    """A knowledge-check question: tick boxes in both editions, lines to write
    on for the participant, the answer (and no lines) for the trainer."""
    participant = (built.build_dir / ".coursepack" / "demo-participant" / "body.html").read_text()
    trainer = (built.build_dir / ".coursepack" / "demo-trainer" / "body.html").read_text()
    for body in (participant, trainer):
        assert "KC-QUESTION-TEXT" in body
        options = body[body.index("KC-QUESTION-TEXT") :]
        assert re.search(r'<ul class="[^"]*\bknowledge-check\b[^"]*contains-task-list', options)
        # options, not tasks: nothing made for checklists takes them for tasks
        items = re.findall(r'<li class="([^"]*)"', options.split("</ul>")[0])
        assert len(items) == 2 and all(
            "knowledge-check-option" in item.split() and "task-list-item" not in item.split() for item in items
        ), items
    spaces = re.findall(r'<div class="write-space writing-space">(.*?)</div>\n', participant)
    assert len(spaces) == 1 and spaces[0].count('class="write-line"') == 2
    assert "writing-space" not in trainer and "KC-ANSWER-TEXT" not in participant and "KC-ANSWER-TEXT" in trainer


def test_writing_space_takes_a_number_of_lines(cp_project, capsys):
    page = cp_project.handbook_dir / "modules" / "demo" / "practice.md"
    edit(page, ":::{writing-space} 2", ":::{writing-space} many")
    assert main(["--root", str(cp_project.root), "coursepack", "demo"]) == 1
    err = capsys.readouterr().err
    assert "practice.md:" in err and "number of lines from 1 to 16, not 'many'" in err
    assert "Traceback" not in err


def test_table_header_cells_get_a_scope():
    html = '<table><thead><tr><th class="head">A</th></tr></thead><tr><th class="stub">B</th><th scope="row">C</th>'
    assert with_header_scopes(html) == (
        '<table><thead><tr><th scope="col" class="head">A</th></tr></thead>'
        '<tr><th scope="row" class="stub">B</th><th scope="row">C</th>'
    )


#: A workshop name and participants' names aimed at every parser on the way
#: (Jinja, HTML, TeX, MyST): they must come out as the text they are.
HOSTILE_WORKSHOP = (
    "Cities & migration {{ 7*7 }} <script>alert(1)</script> \\input{/etc/passwd} {entity}`gfmd` {% raw %}"
)
HOSTILE_NAMES = ["Anna Müller", "José <b>García</b> {{ 7*7 }}", "Dr. \\input{x} [x](javascript:alert(1)) Ünal"]


def text_left_edge_mm(page) -> float | None:
    """Where the leftmost text of a PDF page starts, in mm from the left edge."""
    xs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            xs.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

    page.extract_text(visitor_text=visit)
    return round(min(xs) * 25.4 / 72, 1) if xs else None


def test_half_day_duplex_pack_with_certificates_from_the_command_line(cp_project, tmp_path):
    """``--start`` and ``--day half`` reach the printed agenda (its times add
    up); ``--duplex`` starts every chapter on a right-hand page with mirrored
    margins; ``--workshop``, ``--date`` and ``--certificate-names`` fill the
    forms, one certificate per name, every value printed as the text it is."""
    names = tmp_path / "names.txt"
    names.write_text("\ufeff" + HOSTILE_NAMES[0] + "\n\n  " + "\n".join(HOSTILE_NAMES[1:]) + "\n", encoding="utf-8")
    args = ["--root", str(cp_project.root), "coursepack", "demo", "--edition", "trainer"]
    forms = ["--workshop", HOSTILE_WORKSHOP, "--date", "2027-03-15", "--certificate-names", str(names)]
    assert main([*args, "--start", "13:30", "--day", "half", "--duplex", *forms]) == 0
    outline = outline_json(cp_project, "demo", "trainer")
    [agenda] = agendas(outline, load_packs(cp_project).agenda, "half", "13:30", print_strings(cp_project, "en"))
    assert_times_add_up(agenda, "13:30")
    assert [r["number"] for r in agenda["rows"] if r["kind"] == "session"] == [1, 2, 4, 5, 7]
    assert [r["kind"] for r in agenda["rows"]].count("break") == 1
    assert agenda["lead"] == "Half day, from 13:30 to 16:10"  # 145 minutes of sessions and a 15-minute break
    text = normalise(inspect_pdf(pdf_path(cp_project, "demo", "trainer")).full_text())
    assert "Half day, from 13:30 to 16:10" in text
    assert "13:30–13:45 1 Welcome and aims 15" in text and "Lunch break" not in text

    # duplex: the contents, the agenda, every chapter, the glossary and each form start on a
    # right-hand (odd) page; the pages left empty for that have no running heads either
    facts = inspect_pdf(pdf_path(cp_project, "demo", "trainer"))
    starts = [(title, page + 1) for level, title, page in facts.outline if level == 1]
    assert [title for title, _ in starts] == [
        "Contents",
        "Agenda",
        "1 A demo module on the GFMD",
        "2 The basics",
        "3 Practice",
        "Appendix Glossary",
        "Attendance sheet",
        "Certificate of participation",
    ]
    assert all(page % 2 == 1 for _, page in starts), starts
    empty = [index + 1 for index, page_text in enumerate(facts.text) if not page_text.strip()]
    assert empty and all(page % 2 == 0 for page in empty)
    # mirrored margins: the wider margin (25 mm) is inside, by the binding
    from pypdf import PdfReader

    reader = PdfReader(str(pdf_path(cp_project, "demo", "trainer")))
    edges = {index + 1: text_left_edge_mm(page) for index, page in enumerate(reader.pages) if index}
    body_pages = [page for page, edge in edges.items() if edge is not None and facts.page_sizes_mm[page - 1][0] == 210]
    assert {edges[page] for page in body_pages if page % 2} == {25.0}
    assert {edges[page] for page in body_pages if page % 2 == 0} == {17.0}

    # one certificate per name, each on its own sheet; the names and the workshop as typed
    pages = [normalise(page_text) for page_text in facts.text]
    certificates = [page for page in pages if page.startswith("City diplomacy on migration: a handbook Certificate")]
    assert len(certificates) == len(HOSTILE_NAMES)

    def squash(words: str) -> str:  # a long line may wrap after a "/"
        return re.sub(r"\s+", "", words)

    for name, page in zip(HOSTILE_NAMES, certificates, strict=True):
        said = f"This is to confirm that {name} took part in the workshop {HOSTILE_WORKSHOP} on 15 March 2027."
        assert squash(said) in squash(page)
        assert "It had 2 hours and 25 minutes of sessions." in page  # the half day's 145 minutes
    assert squash(f"Workshop: {HOSTILE_WORKSHOP} Date: 15 March 2027 Trainer:") in squash(text)
    html = (cp_project.build_dir / ".coursepack" / "demo-trainer" / "pack.html").read_text()
    assert "<script>" not in html and "<b>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and "49" not in text
    assert "{% raw %}" in html and "&amp;lt;" not in html  # escaped once, not twice


# ------------------------------------------------------------- forms: bad input
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--date", "15.03.2027"], "citydiplo: --date: '15.03.2027' is not a date: write YYYY-MM-DD, e.g. 2027-03-15"),
        (["--date", "2027-02-30"], "--date: '2027-02-30' is not a date"),
        (["--workshop", "  "], "--workshop: the workshop's name is empty"),
        (["--workshop", "A\x1bB"], "--workshop: the name holds a control character"),
        (["--certificate", "--date", "2027-03-15"], "--certificate needs --workshop: a certificate names"),
        (["--certificate", "--workshop", "W"], "--certificate needs --date"),
        (["--certificate-names", "NAMES", "--workshop", "W", "--date", "2027-03-15"], "NAMES:3: not UTF-8 text"),
        (["--certificate-names", "MISSING", "--workshop", "W"], "--certificate-names: MISSING: cannot be read"),
        (
            ["--certificate-names", "LONG", "--workshop", "W", "--date", "2027-03-15"],
            "LONG:2: a name of 101 characters",
        ),
        (["--certificate-names", "EMPTY", "--workshop", "W", "--date", "2027-03-15"], "EMPTY: no names in it"),
    ],
)
def test_bad_form_options_stop_before_anything_is_written(cp_project, tmp_path, capsys, options, message):
    files = {
        "NAMES": b"Anna\nBen\nJos\xe9\n",  # Latin-1, not UTF-8, on line 3
        "MISSING": None,
        "LONG": ("Anna\n" + "x" * 101 + "\n").encode(),
        "EMPTY": b"\n  \n",
    }
    for key, data in files.items():
        path = tmp_path / key.lower()
        if data is not None:
            path.write_bytes(data)
        options = [str(path) if option == key else option for option in options]
        message = message.replace(key, str(path))
    assert main(["--root", str(cp_project.root), "coursepack", "demo", *options]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (cp_project.build_dir / "coursepacks").exists()
    assert not (cp_project.handbook_dir / "_coursepacks").exists()


def test_certificate_names_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\ufeffAnna  Müller\r\n\r\n   \n Ben Okafor \n", encoding="utf-8")
    assert read_names(path) == ("Anna Müller", "Ben Okafor")  # BOM, CRLF, blank lines and spaces tidied
    details = workshop_details("Migration and cities,  Leipzig", "2027-03-15", names_file=path)
    assert details == Workshop(
        "Migration and cities, Leipzig", dt.date(2027, 3, 15), True, ("Anna Müller", "Ben Okafor")
    )
    assert workshop_details() == Workshop()
    with pytest.raises(HandoutError, match=r"names.txt:1: the name holds a control character"):
        path.write_bytes(b"A\x07B\n")
        read_names(path)


def test_handouts_per_edition():
    """The evaluation form rates the agenda's sessions (participant edition);
    the attendance sheet has a page per day (trainer edition); certificates
    come in the edition built, one per name or one with a blank line."""
    strings = {**print_strings(load_project(REPO), "en")}
    agenda_settings = AgendaSettings()
    days = [
        {**make_agenda(DEMO_SESSIONS, "full", "09:00", agenda_settings.breaks["full"]), "title": "Module A"},
        {**make_agenda(DEMO_SESSIONS[:3], "full", "09:00", agenda_settings.breaks["full"]), "title": "Module B"},
    ]
    chapters = [{"number": "1", "title": "Page one"}, {"number": "2", "title": "Page two"}]

    def forms(edition, workshop=None, agenda=days):
        return handouts(workshop or Workshop(), edition, agenda, chapters, "The pack", strings, format_date, "en")

    participant = forms("participant")
    assert participant["attendance"] == [] and participant["certificates"] == []
    groups = participant["evaluation"]["groups"]
    assert [g["title"] for g in groups] == ["Module A", "Module B"] and participant["evaluation"]["several"]
    assert [r["number"] for r in groups[0]["rows"]] == [s["number"] for s in DEMO_SESSIONS]
    assert [r["title"] for r in groups[1]["rows"]] == ["Welcome", "Input", "Case"]
    # a pack without a session table rates its chapters
    assert forms("participant", agenda=[])["evaluation"]["groups"][0]["rows"][1] == {"number": "2", "title": "Page two"}

    workshop = Workshop("Leipzig <b>", dt.date(2027, 3, 15), True, ("Ann", "Ben & Co"))
    trainer = forms("trainer", workshop)
    assert trainer["evaluation"] is None
    assert [s["heading"] for s in trainer["attendance"]] == [
        "Attendance sheet, day 1 of 2",
        "Attendance sheet, day 2 of 2",
    ]
    assert [s["module"] for s in trainer["attendance"]] == ["Module A", "Module B"]
    assert [s["date"] for s in trainer["attendance"]] == ["15 March 2027", ""]  # --date is the first day
    assert len(trainer["attendance"][0]["rows"]) == ATTENDANCE_ROWS
    assert [c["name"] for c in trainer["certificates"]] == ["Ann", "Ben &amp; Co"]
    assert trainer["fields"]["workshop"] == "Leipzig &lt;b&gt;"
    assert trainer["certificates"][0]["scope"] == (
        "The workshop followed the course pack “The pack”. It had 7 hours and 40 minutes of sessions."
    )  # 360 + 100 minutes
    one = forms("participant", Workshop("W", dt.date(2027, 3, 15), True))
    assert [c["name"] for c in one["certificates"]] == [""]  # one page with a line for the name
    assert [s["heading"] for s in forms("trainer", agenda=[])["attendance"]] == ["Attendance sheet"]


def test_forms_in_german(built):
    """The German words of the forms, from conf/print/strings.toml, for the
    evaluation form too (the German pack built above is the trainer edition)."""
    outdir = built.build_dir / ".coursepack" / "demo-participant"
    outline = {**json.loads((outdir / "pack.json").read_text()), "language": "de"}
    page = compose_html(
        built,
        load_packs(built).packs["demo"].in_language("de"),
        "participant",
        (outdir / "body.html").read_text(),
        outline,
        "https://example.org/",
        workshop=Workshop("Städte <i>", dt.date(2027, 3, 15)),
    )
    evaluation = page.split('id="handout-evaluation"')[1]
    for words in (
        "Auswertungsbogen",
        "Wie nützlich war jede Einheit für Ihre Arbeit?",
        "Wie nützlich war der Workshop insgesamt für Ihre Arbeit?",
        "Was tun Sie als Nächstes?",
        '<span class="form-value">Städte &lt;i&gt;</span>',
        '<span class="form-value">15. März 2027</span>',
    ):
        assert words in evaluation, words
    english = print_strings(built, "en")
    german = print_strings(built, "de")
    form_keys = [key for key in english if key.startswith(("form_", "evaluation_", "attendance_", "certificate_"))]
    assert len(form_keys) > 25 and all(
        german[key] != english[key] for key in form_keys if key not in ("form_workshop", "attendance_name")
    )


def test_list_mentions_the_forms(cp_project, capsys):
    assert main(["--root", str(cp_project.root), "coursepack", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo: A demo module on the GFMD (modules/demo/index)")
    assert "evaluation form (participant edition)" in out and "attendance sheet (trainer edition)" in out


def test_help_documents_the_form_and_duplex_options(capsys):
    assert main(["coursepack", "--help"]) == 0
    out = normalise(capsys.readouterr().out)
    for option in ("--workshop TEXT", "--date YYYY-MM-DD", "--certificate ", "--certificate-names FILE", "--duplex"):
        assert option in out, option
    assert "evaluation form" in out and "attendance sheet" in out and "right-hand page" in out


def test_parts_in_another_language_carry_lang_in_the_tagged_pdf(tmp_path):
    """WeasyPrint writes only the document's language; citydiplo adds /Lang to
    the structure elements of elements with a lang attribute."""
    css = tmp_path / "print.css"
    css.write_text("@page { size: A4 }")
    out = tmp_path / "x.pdf"
    html = (
        '<html lang="de"><head><title>T</title></head><body><h1>Deutsch</h1><p>Ein Absatz.</p>'
        '<div lang="en"><h1>English</h1><p>A paragraph.</p><p lang="de">Nicht übersetzt.</p></div></body></html>'
    )
    render_pdf(html, tmp_path, css, out)
    found = [(e.tag, e.language) for e in structure_languages(out) if e.tag in ("H1", "P")]
    assert found == [("H1", "de"), ("P", "de"), ("H1", "en"), ("P", "en"), ("P", "de")]
    assert [e.own_language for e in structure_languages(out) if e.tag == "Div"] == ["en"]


def _write_many(args) -> int:
    import time

    from citydiplo.files import write_if_changed

    path, text, start = args
    while time.time() < start:  # both processes begin together
        time.sleep(0.001)
    i = 0
    while i == 0 or time.time() < start + 1.0:  # at least one write, however late the process started
        write_if_changed(Path(path), f"{text} {i % 3}")
        i += 1
    return 0


def test_two_packs_side_by_side_can_write_the_same_source_file(tmp_path):
    """Both editions of a pack write the pack's root page (handbook/_coursepacks/NAME.md);
    built side by side (coursepack --all), two processes write the same file
    at once, which must never fail."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    target = tmp_path / "_coursepacks" / "demo.md"
    start = time.time() + 3  # after both processes have started
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert list(pool.map(_write_many, [(str(target), "a", start), (str(target), "b", start)])) == [0, 0]
    assert target.read_text().startswith(("a ", "b "))
    assert [p.name for p in target.parent.iterdir()] == ["demo.md"]  # no temporary file left
