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
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from citydiplo.cli import main
from citydiplo.config import load_project
from citydiplo.site.build import build_site

from .conftest import require_tool
from .test_coursepack import make_coursepack_project

XHTML = "{http://www.w3.org/1999/xhtml}"
EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    project = make_coursepack_project(tmp_path_factory.mktemp("epub") / "repo")
    assert main(["--root", str(project.root), "epub", "-j", "1"]) == 0
    return project.build_dir / "epub" / "citydiplo.epub"


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
    # the public edition: no trainer notes
    assert "TRAINER-ONLY-TEXT" not in text
    # the pack root pages are not in the book
    assert not any("_coursepacks" in name for name in pages)


def test_epubcheck_passes_on_the_fixture(book):
    run_epubcheck(book)


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
def test_epub_of_the_real_handbook(real_project, tmp_path):
    """Into a temporary build folder, leaving the user's build/epub alone."""
    project = dataclasses.replace(real_project, build_dir=tmp_path / "build")
    book = build_site(project, builder="epub", status=io.StringIO()) / "citydiplo.epub"
    pages = check_structure(book)
    assert len(pages) > 50
    run_epubcheck(book)
