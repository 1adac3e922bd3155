"""What every page carries around its content (citydiplo.site.theme, conf/_templates/):
the trainer banner, the feedback link, the language alternates, the search
index and name table, the downloads box, the sitemap. Built on the small
fixture project; the real site is checked in a browser by test_browser.py."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from citydiplo.site.build import build_site
from citydiplo.site.theme import download_files, downloads_html, normalise, word_key


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    from .conftest import make_project

    project = make_project(tmp_path_factory.mktemp("theme") / "repo")
    participant = build_site(project, jobs=1, status=io.StringIO())
    trainer = build_site(project, edition="trainer", jobs=1, status=io.StringIO())
    return project, participant, trainer


def test_trainer_edition_has_a_banner_on_every_page(sites):
    _, participant, trainer = sites
    pages = sorted(trainer.glob("**/*.html"))
    assert pages
    for page in pages:
        if "pagefind" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        assert 'class="announcement"' in text and "Trainer edition" in text, page
    assert "Trainer edition" not in (participant / "index.html").read_text(encoding="utf-8")


def test_feedback_link_names_the_page_and_its_review_date(sites):
    _, participant, _ = sites
    html = (participant / "index.html").read_text(encoding="utf-8")
    href = unescape(re.search(r'<p class="cd-feedback"><a href="([^"]+)">', html).group(1))
    query = parse_qs(urlsplit(href).query)
    assert "Test handbook" in query["title"][0]
    body = query["body"][0]
    assert "https://w3id.org/citydiplo/index.html" in body
    assert "2026-11-22" in body and "2027-05-22" in body


def test_language_alternates_and_switcher(sites):
    _, participant, _ = sites
    html = (participant / "index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" hreflang="de" href="https://w3id.org/citydiplo/de/index.html">' in html
    assert '<link rel="alternate" hreflang="en" href="https://w3id.org/citydiplo/index.html">' in html
    assert 'href="https://w3id.org/citydiplo/de/index.html" hreflang="de"' in html
    entity = (participant / "id" / "gfmd.html").read_text(encoding="utf-8")
    assert 'href="https://w3id.org/citydiplo/de/id/gfmd.html" hreflang="de"' in entity


def test_search_index_and_name_table(sites):
    _, participant, _ = sites
    assert (participant / "pagefind" / "pagefind.js").is_file()
    assert any((participant / "pagefind" / "fragment").iterdir())
    # entries and vocabulary terms are not in Pagefind's full-text index (once
    # any page has data-pagefind-body, Pagefind reads only those pages) ...
    for generated in ("id/gfmd.html", "def/Forum.html"):
        html = (participant / generated).read_text(encoding="utf-8")
        assert "data-pagefind-body" not in html and "data-pagefind-filter" not in html, generated
    # ... the written pages are, with their filters (test_browser.py checks a
    # module page's forum filter on the real handbook)
    home = (participant / "index.html").read_text(encoding="utf-8")
    assert "data-pagefind-body" in home and 'data-pagefind-filter="kind:' in home
    # ... and the name table finds entries and terms by their names
    shard = json.loads((participant / "searchnames" / "gf.json").read_text(encoding="utf-8"))
    pages = [shard["pages"][i] for i in shard["words"]["gfmd"]]
    # each page's names, without its title (the search page normalises the title itself)
    assert any(url == "id/gfmd.html" and "gfmd" in names for url, _title, _kind, names in pages)
    forum = json.loads((participant / "searchnames" / "fo.json").read_text(encoding="utf-8"))
    assert "def/Forum.html" in [forum["pages"][i][0] for i in forum["words"]["forum"]]
    assert all(normalise(title) not in names[:1] for _url, title, _kind, names in shard["pages"])
    # navigation is not indexed: Pagefind reads only the article
    index = (participant / "index.html").read_text(encoding="utf-8")
    assert index.index("data-pagefind-body") > index.index('class="sidebar-drawer"')
    # Pagefind is shown only the sections it indexes (search.pagefind_glob),
    # and still indexes every page that has a body
    with_body = [p for p in participant.rglob("*.html") if "data-pagefind-body" in p.read_text(encoding="utf-8")]
    entry = json.loads((participant / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert entry["languages"]["en"]["page_count"] == len(with_body) > 0


def test_pagefind_is_shown_every_folder_but_the_name_table_sections(tmp_path):
    from citydiplo.site.search import indexed_pages, pagefind_glob

    for page in ("index.html", "how-to/a.html", "how-to/deep/b.html", "id/x.html", "def/Y.html", "pagefind/z.html"):
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text("<p>", encoding="utf-8")
    assert pagefind_glob(tmp_path) == "{*.html,how-to/**/*.html}"
    assert [p.relative_to(tmp_path).as_posix() for p in indexed_pages(tmp_path)] == [
        "how-to/a.html",
        "how-to/deep/b.html",
        "index.html",
    ]
    (tmp_path / "odd {name}").mkdir()  # not safe inside a glob: Pagefind reads every page
    assert pagefind_glob(tmp_path) == "**/*.{html}"


def test_normalise_matches_the_search_page():
    assert normalise("Städte-Netzwerk (GFMD)!") == "stadte netzwerk gfmd"
    assert word_key("pledges") == "pledge" and word_key("gcs") == "gcs"


def test_downloads_box_lists_built_files_and_says_what_is_missing(real_project, tmp_path):
    project = dataclasses.replace(real_project, build_dir=tmp_path)
    files = download_files(project, "modules/gfmd/index", "en")
    names = [name for _, name, _ in files]
    assert names[:2] == ["gfmd-participant.pdf", "gfmd-trainer.pdf"]
    # every pack that holds the module (conf/coursepacks.toml), and no other
    assert "forum-access-combined-trainer.pdf" in names and "imrf-trainer.pdf" not in names
    assert "not part of this copy" in downloads_html(project, "modules/gfmd/index", "en", "../../")
    (tmp_path / "coursepacks").mkdir()
    (tmp_path / "coursepacks" / "gfmd-participant.pdf").write_bytes(b"%PDF-1.7")
    html = downloads_html(project, "modules/gfmd/index", "en", "../../")
    assert 'href="../../downloads/gfmd-participant.pdf"' in html
    assert "Not in this copy of the site" in html and "trainer edition" in html
    trainers = [name for _, name, _ in download_files(project, "routes/trainers", "de")]
    assert "gfmd-trainer-de.pdf" in trainers and trainers[-2:] == ["citydiplo-de.epub", "citydiplo-trainer-de.epub"]
    assert download_files(project, "how-to/make-a-pledge", "en") == []


def test_sitemap(sites):
    _, participant, _ = sites
    text = (participant / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://w3id.org/citydiplo/index.html</loc>" in text
    assert 'hreflang="de" href="https://w3id.org/citydiplo/de/index.html"' in text
    pages = [p for p in participant.rglob("*.html") if "pagefind" not in p.parts]
    documents = [p for p in pages if p.name not in ("genindex.html", "search.html")]
    assert text.count("<url>") == len(documents)


def test_name_table_by_last_letters_and_the_files_the_search_page_may_ask_for(sites):
    """searchnames/end/<yz>.json: every word of four letters or more of a
    title or name, by its last two letters, with the number of pages it names
    (for correcting a typing mistake in a word's first letters); the search
    page lists the files that exist, so it never asks for a missing one."""
    _, participant, _ = sites
    names = participant / "searchnames"
    heads = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in names.glob("*.json")}
    ends = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (names / "end").glob("*.json")}
    words = {word: len(pages) for shard in heads.values() for word, pages in shard["words"].items()}
    assert ends["md"]["gfmd"] == words["gfmd"] > 0
    assert {w for counts in ends.values() for w in counts} == {w for w in words if len(w) >= 4}
    assert all(word.endswith(key) for key, counts in ends.items() for word in counts)
    search = (participant / "search.html").read_text(encoding="utf-8")
    listed = re.search(r'data-names="([^"]*)"', search).group(1).split()
    assert sorted(listed) == sorted(heads)
    assert sorted(re.search(r'data-ends="([^"]*)"', search).group(1).split()) == sorted(ends)


def test_search_page_leaves_out_what_it_does_not_use(sites):
    """A first search downloads less: no code, tab, date, directory or checklist
    styles and scripts, and Sphinx's search helpers only when it falls back."""
    _, participant, _ = sites
    search = (participant / "search.html").read_text(encoding="utf-8")
    assets = {
        Path(src.split("?")[0]).name for src in re.findall(r'<(?:script|link)[^>]* (?:src|href)="([^"]+)"', search)
    }
    assert {"citydiplo-search.js", "furo.css", "citydiplo.css", "furo.js"} <= assets, assets
    for name in ("pygments.css", "sphinx-design.min.css", "design-tabs.js", "citydiplo-checklists.js", "doctools.js"):
        assert name not in assets, name
    fallback = re.search(r'data-sphinx="([^"]*)"', search).group(1).split()
    assert [Path(src).name for src in fallback] == [
        "documentation_options.js",
        "doctools.js",
        "sphinx_highlight.js",
        "language_data.js",
        "searchtools.js",
    ]
    assert all((participant / src).is_file() for src in fallback)
    # every other page keeps them
    index = (participant / "index.html").read_text(encoding="utf-8")
    assert 'src="_static/doctools.js' in index and 'src="_static/citydiplo-checklists.js' in index
