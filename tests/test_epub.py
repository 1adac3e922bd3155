"""The EPUB of the handbook (`citydiplo epub`), for reading offline.

Checked in Python (the container, XHTML that parses, links that resolve, all
tabs present) and, where Java and Debian's epubcheck are installed, by
EPUBCheck itself: no errors, no fatals.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import subprocess
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from citydiplo.cli import main
from citydiplo.config import load_project
from citydiplo.files import build_lock
from citydiplo.site.build import build_site

from .conftest import edit, require_tool
from .test_coursepack import FACILITATOR_NOTES, add_facilitator_notes, make_coursepack_project

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The fixture handbook with facilitator notes and a drawing, as the participants' EPUB."""
    project = make_coursepack_project(tmp_path_factory.mktemp("epub") / "repo")
    add_facilitator_notes(project)
    basics = project.handbook_dir / "modules" / "demo" / "basics.md"
    edit(basics, "## Background\n", "## Background\n\n:::{forum-diagram} routes gfmd\n:::\n\n")
    assert main(["--root", str(project.root), "epub", "-j", "1"]) == 0
    return project.build_dir / "epub" / "citydiplo.epub"


@pytest.fixture(scope="module")
def trainer_book(book):
    """The same handbook's trainer edition (``citydiplo epub --edition trainer``)."""
    root = book.parents[2]
    assert main(["--root", str(root), "epub", "--edition", "trainer", "-j", "1"]) == 0
    return root / "build" / "epub-trainer" / "citydiplo.epub"


def package(path: Path) -> tuple[ET.Element, ET.Element, ET.Element]:
    """The book's package document, navigation document and NCX."""
    with zipfile.ZipFile(path) as zf:
        return tuple(ET.fromstring(zf.read(name)) for name in ("content.opf", "nav.xhtml", "toc.ncx"))


def nav_tree(nav: ET.Element) -> list:
    """The table of contents as (title, [children]) pairs."""

    def items(ol) -> list:
        return [
            (li.find(f"{XHTML}a").text, items(li.find(f"{XHTML}ol")) if li.find(f"{XHTML}ol") is not None else [])
            for li in ol.findall(f"{XHTML}li")
        ]

    return items(nav.find(f".//{XHTML}nav/{XHTML}ol"))


def metadata(opf: ET.Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for element in opf.find(f"{OPF}metadata"):
        key = element.get("property") or element.tag.replace(DC, "dc:")
        found.setdefault(key, []).append(element.text or "")
    return found


def check_structure(path: Path) -> dict[str, str]:
    """The checks EPUBCheck would fail on first; returns the XHTML texts by name."""
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"application/epub+zip"
        container = ET.fromstring(zf.read("META-INF/container.xml"))
        opf_name = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile").get("full-path")
        opf = ET.fromstring(zf.read(opf_name))
        names = set(zf.namelist())
        manifest = [item.get("href") for item in opf.iter("{http://www.idpf.org/2007/opf}item")]
        missing = [href for href in manifest if posixpath.join(posixpath.dirname(opf_name), href) not in names]
        assert missing == []
        pages, ids = {}, {}
        for name in sorted(n for n in names if n.endswith(".xhtml")):
            text = zf.read(name).decode("utf-8")
            root = ET.fromstring(text)  # XHTML must be well-formed XML
            pages[name] = text
            ids[name] = {el.get("id") for el in root.iter() if el.get("id")}
        broken = []
        for name, text in pages.items():
            root = ET.fromstring(text)
            for a in root.iter(f"{XHTML}a"):
                href = a.get("href", "")
                if not href or re.match(r"^[a-z][a-z0-9+.-]*:", href):
                    continue
                target, _, fragment = href.partition("#")
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), target)) if target else name
                if target not in names:
                    broken.append(f"{name}: {href}")
                elif fragment and target.endswith(".xhtml") and fragment not in ids[target]:
                    broken.append(f"{name}: {href} (no such id)")
        assert broken == []
    return pages


def run_epubcheck(path: Path) -> str:
    java = require_tool("java", "EPUBCheck runs on Java (Debian: epubcheck)")
    if not EPUBCHECK_JAR.is_file():
        require_tool("epubcheck", "Debian's epubcheck validates the EPUB")
    result = subprocess.run(
        [java, "-jar", str(EPUBCHECK_JAR), str(path)], capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    problems = [line for line in output.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert problems == [], "\n".join(problems[:20])
    assert result.returncode == 0, output[-2000:]
    return output


def test_epub_of_the_fixture_handbook(book):
    pages = check_structure(book)
    text = "\n".join(pages.values())
    # the tab sets and dropdowns in their print form: every tab's content is in the book
    for marker in ("TAB-ONE-TEXT", "TAB-TWO-TEXT", "TAB-THREE-TEXT", "DROPDOWN-BODY-TEXT", "CARD-ONE-TEXT"):
        assert marker in text
    assert "<details" not in text and 'type="radio"' not in text
    # the public edition: no trainer notes, no facilitator notes
    assert "TRAINER-ONLY-TEXT" not in text and "FACILITATOR-NOTE" not in text
    # the pack root pages are not in the book
    assert not any("_coursepacks" in name for name in pages)


def test_table_of_contents_follows_the_toctrees(book):
    """The navigation document and the NCX list the module's pages and their
    sections, nested, in reading order (not one flat entry)."""
    _, nav, ncx = package(book)
    tree = nav_tree(nav)
    titles = [title for title, _ in tree]
    assert titles[:3] == ["Course pack test handbook", "A demo module on the GFMD", "About this test handbook"]
    assert "Access routes by forum" in titles[3:]  # the hidden toctree's pages come too
    module = dict(tree)["A demo module on the GFMD"]
    sessions = dict(module)["Sessions"]
    assert [title for title, _ in sessions] == ["The basics", "Practice"]
    assert ("Three kinds of city", []) in dict(sessions)["The basics"]
    assert "Drafting a statement" in [title for title, _ in dict(sessions)["Practice"]]
    # the NCX (EPUB 2 readers) has the same nesting
    ns = "{http://www.daisy.org/z3986/2005/ncx/}"
    points = ncx.findall(f"{ns}navMap/{ns}navPoint")
    assert [p.find(f"{ns}navLabel/{ns}text").text for p in points] == [title for title, _ in tree]
    assert len(ncx.findall(f".//{ns}navPoint")) >= 10


def test_metadata_and_editions(book, trainer_book):
    """Title, language, creator, publisher, date, an identifier per edition
    (also in the NCX), the edition, accessibility; the trainer edition holds
    the trainer notes and every session's facilitator notes."""
    books = {"participant": book, "trainer": trainer_book}
    found = {}
    for edition, path in books.items():
        opf, _, ncx = package(path)
        meta = found[edition] = metadata(opf)
        assert meta["dc:language"] == ["en"]
        assert meta["dc:creator"] == ["The citydiplo project contributors"]
        assert meta["dc:publisher"] == ["The citydiplo project"]
        assert "unknown" not in meta.get("dc:contributor", [])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["dc:date"][0])
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", meta["dc:identifier"][0])
        uid = ncx.find(".//{http://www.daisy.org/z3986/2005/ncx/}meta[@name='dtb:uid']").get("content")
        assert uid == meta["dc:identifier"][0]
        version = load_project(path.parents[2]).version
        assert meta["schema:bookEdition"] == [f"{edition.capitalize()} edition, {version}"]
        assert {"structuralNavigation", "tableOfContents"} <= set(meta["schema:accessibilityFeature"])
        assert meta["schema:accessibilityHazard"] == ["none"] and meta["schema:accessibilitySummary"][0]
    assert found["participant"]["dc:title"] == ["City diplomacy on migration"]
    assert found["trainer"]["dc:title"] == ["City diplomacy on migration (Trainer edition)"]
    assert found["participant"]["dc:identifier"] != found["trainer"]["dc:identifier"]
    # the identifier is stable: the same book built again keeps it
    assert found["participant"]["dc:identifier"] == [
        "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/citydiplo/epub/en/participant"))
    ]
    text = "\n".join(check_structure(trainer_book).values())
    assert "TRAINER-ONLY-TEXT" in text and "KC-ANSWER-TEXT" in text
    for number in FACILITATOR_NOTES:
        assert f"FACILITATOR-NOTE-{number}:" in text and f"Facilitator notes: session {number} (" in text


def test_drawings_are_in_the_book_with_working_links(book):
    """The forum-diagram is drawn (inline SVG, declared in the manifest),
    each box a link to its entity's page in the book, the list under it kept."""
    opf, _, _ = package(book)
    with zipfile.ZipFile(book) as zf:
        names = set(zf.namelist())
        page = ET.fromstring(zf.read("modules/demo/basics.xhtml"))
    svgs = list(page.iter(f"{SVG}svg"))
    assert len(svgs) == 1 and svgs[0].find(f"{SVG}title").text
    links = [a.get(XLINK_HREF) for a in svgs[0].iter(f"{SVG}a")]
    assert links and all(posixpath.normpath(posixpath.join("modules/demo", href)) in names for href in links)
    assert "../../id/gfmd.xhtml" in links
    properties = {item.get("href"): item.get("properties") for item in opf.iter(f"{OPF}item")}
    assert properties["modules/demo/basics.xhtml"] == "svg"
    assert properties["modules/demo/practice.xhtml"] is None
    assert any("forum-diagram-list" in (ul.get("class") or "") for ul in page.iter(f"{XHTML}ul"))


def test_cover_drawn_from_the_books_words(book, trainer_book):
    """Each edition has a cover the build draws (no outside image): a PNG in
    the 2:3 shape, marked as the cover image (EPUB 3 and EPUB 2), shown on a
    cover page that opens the book, its alt text naming title, edition and
    language; the same words draw the same bytes."""
    from PIL import Image

    from citydiplo.print.cover import draw_cover

    alts, images = {}, {}
    for edition, path in (("participant", book), ("trainer", trainer_book)):
        opf, _, _ = package(path)
        covers = [item for item in opf.iter(f"{OPF}item") if item.get("properties") == "cover-image"]
        assert [item.get("href") for item in covers] == ["_static/citydiplo-cover.png"]
        assert covers[0].get("media-type") == "image/png"
        meta = opf.find(f"{OPF}metadata/{OPF}meta[@name='cover']")
        assert meta is not None and meta.get("content") == covers[0].get("id")
        spine = [ref.get("idref") for ref in opf.iter(f"{OPF}itemref")]
        pages = {item.get("id"): item.get("href") for item in opf.iter(f"{OPF}item")}
        assert pages[spine[0]] == "epub-cover.xhtml"
        with zipfile.ZipFile(path) as zf:
            images[edition] = zf.read("_static/citydiplo-cover.png")
            cover = ET.fromstring(zf.read("epub-cover.xhtml"))
        image = Image.open(io.BytesIO(images[edition]))
        assert image.format == "PNG" and image.size == (1600, 2400)
        [img] = cover.iter(f"{XHTML}img")
        assert img.get("src") == "_static/citydiplo-cover.png"
        alts[edition] = img.get("alt")
    version = load_project(book.parents[2]).version
    assert alts["participant"] == f"Cover: City diplomacy on migration. Participant edition, {version}. In English."
    assert alts["trainer"] == f"Cover: City diplomacy on migration. Trainer edition, {version}. In English."
    assert images["participant"] != images["trainer"]  # the edition is on the cover
    again = draw_cover(
        book.parent / "again.png",
        "City diplomacy on migration",
        f"Participant edition, {version}",
        "In English",
        "The citydiplo project",
        subtitle=("How cities get into the global forums on migration, speak there and keep their commitments"),
    )
    assert again.read_bytes() == images["participant"]


def test_cover_without_the_packs_fonts(tmp_path, monkeypatch):
    """Where neither Open Sans nor DejaVu Sans is installed the cover is still
    drawn, in Pillow's own font."""
    from PIL import Image

    import citydiplo.print.cover as cover

    monkeypatch.setattr(cover, "font_file", lambda weight: None)
    out = cover.draw_cover(tmp_path / "c.png", "A title", "An edition", "In English", "A publisher")
    assert Image.open(out).size == cover.SIZE


@pytest.fixture(scope="module")
def german_book(book):
    """The same handbook in German (``citydiplo epub --language de``), its
    title translated in the root page's catalogue."""
    root = book.parents[2]
    po = root / "handbook" / "locales" / "de" / "LC_MESSAGES" / "index.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "City diplomacy on migration"\nmsgstr "Städtediplomatie (Testbuch)"\n',
        encoding="utf-8",
    )
    # built twice into the same folder, as `citydiplo build` does: the second
    # book must not take the first one's cover page for a page of its own
    for _ in range(2):
        assert main(["--root", str(root), "epub", "--language", "de", "-j", "1"]) == 0
    return root / "build" / "epub-de" / "citydiplo.epub"


def test_german_book_speaks_german_around_its_pages(german_book):
    """Title, edition, cover, the table of contents' heading and the guide's
    names in German (Sphinx's own are English in every book)."""
    opf, nav, ncx = package(german_book)
    meta = metadata(opf)
    assert meta["dc:language"] == ["de"] and meta["dc:title"] == ["Städtediplomatie (Testbuch)"]
    version = load_project(german_book.parents[2]).version
    assert meta["schema:bookEdition"] == [f"Ausgabe für Teilnehmende, {version}"]
    assert nav.find(f".//{XHTML}nav/{XHTML}h1").text == "Inhaltsverzeichnis"
    ns = "{http://www.daisy.org/z3986/2005/ncx/}"
    assert ncx.find(f"{ns}docTitle/{ns}text").text == "Städtediplomatie (Testbuch)"
    guide = {ref.get("type"): ref.get("title") for ref in opf.iter(f"{OPF}reference")}
    assert guide == {"cover": "Umschlag", "toc": "Inhaltsverzeichnis"}
    spine = [ref.get("idref") for ref in opf.iter(f"{OPF}itemref")]
    assert len(spine) == len(set(spine))  # the book built again: its cover page once (EPUBCheck RSC-005)
    with zipfile.ZipFile(german_book) as zf:
        cover = ET.fromstring(zf.read("epub-cover.xhtml"))
    [img] = cover.iter(f"{XHTML}img")
    assert img.get("alt") == f"Umschlag: Städtediplomatie (Testbuch). Ausgabe für Teilnehmende, {version}. Auf Deutsch."


def test_epubcheck_passes_on_the_fixture(trainer_book):
    """The trainer edition: every component of the participants' book, plus
    the notes (one EPUBCheck run; Java's start-up is most of its time)."""
    output = run_epubcheck(trainer_book)
    assert "WARNING" not in output, output[-2000:]


def test_epub_build_failure_keeps_old_book(book, capsys):
    project = load_project(book.parents[2])
    before = book.read_bytes()
    page = project.handbook_dir / "about.md"
    page.write_text(page.read_text() + "\nSee {entity}`no-such-entity`.\n")
    try:
        assert main(["--root", str(project.root), "epub", "-j", "1"]) == 1
        err = capsys.readouterr().err
        assert "about.md:" in err and "no-such-entity" in err and "Traceback" not in err
        assert book.read_bytes() == before
    finally:
        page.write_text(page.read_text().replace("\nSee {entity}`no-such-entity`.\n", ""))


@pytest.mark.slow
def test_epub_of_the_real_handbook(real_build, tmp_path):
    """Into a temporary build folder, leaving the user's build/epub alone."""
    project = dataclasses.replace(real_build, build_dir=tmp_path / "build")
    # The book compiles the handbook's generated pages into handbook/, as the sites' builds do
    # in other workers: hold their lock (their build folder's), not only this folder's.
    with build_lock(real_build.build_dir):
        book = build_site(project, builder="epub", status=io.StringIO()) / "citydiplo.epub"
    pages = check_structure(book)
    assert len(pages) > 50
    # the contents reach each module's pages and their sections
    _, nav, _ = package(book)
    modules = dict(dict(nav_tree(nav))["Training modules"])
    gfmd = dict(modules["The GFMD and the Mayors Mechanism"])
    assert len(gfmd["Pages of this module"]) >= 6 and any(children for _, children in gfmd["Pages of this module"])
    # the drawings of the forum modules are in the book
    opf, _, _ = package(book)
    drawn = {item.get("href") for item in opf.iter(f"{OPF}item") if item.get("properties") == "svg"}
    assert {"modules/gfmd/taking-part.xhtml", "explanation/global-architecture.xhtml"} <= drawn
    run_epubcheck(book)
