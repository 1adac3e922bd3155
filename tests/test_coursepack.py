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
import io
import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from citydiplo.cli import main
from citydiplo.config import load_project
from citydiplo.print.coursepack import (
    EDITIONS,
    CoursePackError,
    build_pack,
    load_packs,
    pack_documents,
    pdf_path,
    render_pdf,
    resolve_doc,
    toctree_entries,
    validate_vocab,
)
from citydiplo.print.forms import DIRECTIVES, ROLES, scan, scan_files, unsupported
from citydiplo.print.pdfcheck import inspect_pdf

from .conftest import REPO, TESTS, edit, make_project

FIXTURE_PACKS = ("demo", "demo-plus")
GENERATED = ("id", "def", "generated", "_coursepacks")


def make_coursepack_project(root: Path):
    make_project(root, TESTS / "roots" / "test-coursepack")
    shutil.copytree(TESTS / "data" / "coursepack" / "vocab", root / "vocab", dirs_exist_ok=True)
    shutil.copy(TESTS / "data" / "coursepack" / "conf" / "coursepacks.toml", root / "conf" / "coursepacks.toml")
    return load_project(root)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture project with every pack built in both editions, once."""
    project = make_coursepack_project(tmp_path_factory.mktemp("cp") / "repo")
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
    assert "[packs.demo-plus.de] may only hold title, subtitle, audience, duration; not contents" in str(info.value)


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
    assert top == ["Contents", *chapters, "Appendix Glossary"]
    assert chapters[:3] == ["1 A demo module on the GFMD", "2 The basics", "3 Practice"]
    sections = [title for level, title, _ in facts.outline if level == 2]
    assert "2.1 Three kinds of city" in sections and "3.1 Drafting a statement" in sections
    # chapters start where the outline says, in order
    pages = [page for level, _, page in facts.outline if level == 1]
    assert pages == sorted(pages)
    # the table of contents: every chapter with its page number
    toc = normalise(facts.text[2])
    assert toc.startswith("Contents")
    for (_, title, page), chapter in zip(
        [o for o in facts.outline if o[0] == 1][1:-1], outline["chapters"], strict=True
    ):
        assert re.search(rf"{re.escape(chapter['title'])} \.+ {page + 1}\b", toc), (title, toc)
    # cover
    cover = normalise(facts.text[0])
    assert "Course pack" in cover or "COURSE PACK" in cover
    assert {"participant": "Participant edition", "trainer": "Trainer edition"}[edition] in cover
    assert "CC BY 4.0" in cover and "0.1.0" in cover
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
        "Exercise: Draft a statement (20 min)",
        "Large city",
        "Small city",
        "City of origin",
        "How the forum began",
        "United Cities and Local Governments",  # the query table
    ):
        assert marker in text, marker
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
    glossary = normalise(facts.text[-1])
    assert "Appendix Glossary" in glossary
    assert "Pledge" in glossary and "Side event" in glossary and "Troika" not in glossary
    # links out: entities to their IRI, pages outside the pack to the website
    uris = {uri for _, uri in facts.external_links}
    assert "https://w3id.org/citydiplo/id/gfmd" in uris
    assert "https://gfmd.org/process/gfmd-mayors-mechanism" in uris
    assert ("https://w3id.org/citydiplo/about.html" in uris) == (name == "demo")
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


@pytest.mark.slow
def test_real_course_packs(real_project, tmp_path):
    """Every pack of the handbook in both editions, with the same checks.

    The PDFs go to a temporary build folder, so running the tests leaves
    the user's own build/coursepacks/ alone."""
    project = dataclasses.replace(real_project, build_dir=tmp_path / "build")
    settings = load_packs(project)
    validate_vocab(project)
    # The combined pack holds every module's chapters, so it carries every
    # page, trainer note and link that the single-module packs carry; one
    # module pack covers the single-module layout. (Building all ten PDFs took
    # 17 of the suite's 36 minutes on a loaded machine.)
    combined = [name for name, pack in settings.packs.items() if len(pack.contents) > 1]
    single = [name for name, pack in settings.packs.items() if len(pack.contents) == 1]
    chosen = combined + single[:1]
    covered = {page for name in combined for page in settings.packs[name].contents}
    assert covered >= {page for name in single for page in settings.packs[name].contents}
    for name in chosen:
        for edition in EDITIONS:
            build_pack(project, settings.packs[name], edition, settings, status=io.StringIO())
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
        snippets = trainer_note_snippets(body)
        assert snippets, f"{name}: the trainer edition has no trainer notes"
        for snippet in snippets:
            assert snippet in texts["trainer"], (name, snippet)
            assert snippet not in texts["participant"], (name, snippet)


def test_german_edition(built):
    assert main(["--root", str(built.root), "coursepack", "demo", "--edition", "trainer", "--language", "de"]) == 0
    pdf = pdf_path(built, "demo", "trainer", "de")
    assert pdf.name == "demo-trainer-de.pdf"
    facts = inspect_pdf(pdf)
    text = normalise(facts.full_text())
    assert "Ausgabe für Trainerinnen und Trainer" in text
    assert "Globales Forum für Migration und Entwicklung" in text  # entity labels in the build language
    assert "Übung: Draft a statement (20 Min.)" in text
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
