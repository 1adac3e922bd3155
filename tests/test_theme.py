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
    entity = (participant / "id" / "gfmd.html").read_text(encoding="utf-8")
    assert 'data-pagefind-filter="forum:' in entity and 'data-pagefind-ignore data-pagefind-meta="names"' in entity
    shard = json.loads((participant / "searchnames" / "gf.json").read_text(encoding="utf-8"))
    pages = [shard["pages"][i] for i in shard["words"]["gfmd"]]
    assert any(url == "id/gfmd.html" and "gfmd" in names for url, _title, _kind, names in pages)
    # navigation is not indexed: Pagefind reads only the article
    index = (participant / "index.html").read_text(encoding="utf-8")
    assert index.index("data-pagefind-body") > index.index('class="sidebar-drawer"')


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
