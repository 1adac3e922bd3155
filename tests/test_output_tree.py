"""The build's copy of its previous output (files.link_or_copy_tree with
build.is_linked) and its removal of stale pages (build.remove_stale)."""

from __future__ import annotations

import os
from pathlib import Path

from citydiplo.files import link_or_copy_tree
from citydiplo.site.build import is_linked, remove_stale


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_is_linked():
    linked = ["index.html", "id/geneva.html", "id/geneva.ttl", "def/Forum.jsonld", "guides/join/index.html"]
    copied = [
        "_static/theme.css",
        "_static/sub/page.html",  # an asset, even if it is HTML
        "pagefind/pagefind.js",
        "searchindex.js",
        "dist/citydiplo.ttl",
        "id/geneva.txt",
        "guides/notes.ttl",  # RDF files are linked only next to the pages of id/ and def/
    ]
    assert all(is_linked(rel) for rel in linked)
    assert not any(is_linked(rel) for rel in copied)


def test_link_or_copy_tree_links_what_it_is_told_and_copies_the_rest(tmp_path):
    source, target = tmp_path / "old", tmp_path / "new"
    make(source, {"index.html": "home", "id/geneva.html": "Geneva", "_static/a.css": "css", "empty/.keep": ""})
    os.symlink("index.html", source / "start.html")
    os.symlink("../_static", source / "id" / "static")
    link_or_copy_tree(source, target, is_linked)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == sorted(
        p.relative_to(source).as_posix() for p in source.rglob("*")
    )
    assert (target / "index.html").stat().st_ino == (source / "index.html").stat().st_ino
    assert (target / "id/geneva.html").stat().st_ino == (source / "id/geneva.html").stat().st_ino
    assert (target / "_static/a.css").stat().st_ino != (source / "_static/a.css").stat().st_ino
    assert (target / "_static/a.css").read_text() == "css"
    assert os.readlink(target / "start.html") == "index.html"
    assert os.readlink(target / "id" / "static") == "../_static"


def test_remove_stale_removes_only_pages_and_rdf_files_without_a_source(tmp_path):
    out = tmp_path / "html"
    make(
        out,
        {
            "index.html": "",
            "search.html": "",
            "genindex.html": "",
            "objects.inv": "",
            "gone.html": "",
            "id/geneva.html": "",
            "id/geneva.ttl": "",
            "id/removed.html": "",
            "id/removed.ttl": "",
            "id/removed.jsonld": "",
            "def/xsd-date.ttl": "",  # a described resource without a page
            "def/Old.ttl": "",
            "guides/old/index.html": "",
            "_static/unused.html": "",
            "dist/id/removed.ttl": "",
        },
    )
    os.symlink("index.html", out / "linked.html")
    removed = remove_stale(out, {"index", "id/geneva", "guides/join/index"}, {"def/xsd-date"})
    names = [p.relative_to(out).as_posix() for p in removed]
    assert names == sorted(
        [
            "def/Old.ttl",
            "gone.html",
            "guides/old/index.html",
            "id/removed.html",
            "id/removed.jsonld",
            "id/removed.ttl",
        ]
    )
    assert all(not (out / name).exists() for name in names)
    for kept in ("search.html", "objects.inv", "id/geneva.ttl", "def/xsd-date.ttl", "_static/unused.html"):
        assert (out / kept).exists(), kept
    assert (out / "linked.html").is_symlink()
