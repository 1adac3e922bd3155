"""Clean markup on the built site: the Nu HTML validator over every page of
both editions (0 errors), axe-core on one page of every page type (0 critical,
0 serious), unique titles, a description, hreflang alternates, a favicon and
the sitemap.

The Nu validator (npm ``vnu-jar``, Java) and axe-core (npm ``axe-core``) are
installed by ``.ci/run`` into ``.cache/npm`` (``CITYDIPLO_NPM_PREFIX`` points
elsewhere).
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from .conftest import npm_package, require_tool
from .test_browser import PAGE_TYPES

pytestmark = pytest.mark.slow

SITES = ["english_site", "german_site"]


def pages(root):
    """The site's own pages (not the search bundle)."""
    return sorted(p for p in root.rglob("*.html") if "pagefind" not in p.relative_to(root).parts)


@pytest.mark.parametrize("site", SITES)
def test_nu_validator_finds_no_errors(request, site):
    java = require_tool("java", "the Nu HTML validator runs on Java")
    jar = npm_package("vnu-jar") / "build" / "dist" / "vnu.jar"
    root = request.getfixturevalue(site)
    result = subprocess.run(
        [java, "-Xss4m", "-jar", str(jar), "--errors-only", "--format", "json", *map(str, pages(root))],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = [m for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]
    summary = defaultdict(list)
    for error in errors:
        summary[error["message"]].append(error["url"].split(str(root))[-1] + f":{error.get('lastLine')}")
    report = "\n".join(f"{len(where)} × {message} (e.g. {where[0]})" for message, where in summary.items())
    assert not errors, f"{len(errors)} Nu validator error(s) in {site}:\n{report}"


@pytest.mark.parametrize("kind", [*sorted(set(PAGE_TYPES) - {"search"}), "search"])
@pytest.mark.parametrize("edition", ["", "de/"])
def test_axe_finds_no_critical_or_serious_violation(page, served_sites, kind, edition):
    axe = npm_package("axe-core") / "axe.min.js"
    page.goto(served_sites + edition + PAGE_TYPES[kind])
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(axe))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("critical", "serious")]
    report = "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    assert not bad, f"{PAGE_TYPES[kind]}:\n{report}"


@pytest.mark.parametrize("site", SITES)
def test_titles_are_unique_and_pages_described(request, site):
    root = request.getfixturevalue(site)
    titles = defaultdict(list)
    undescribed, no_alternates = [], []
    for path in pages(root):
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(root))
        if rel in ("genindex.html", "search.html"):
            continue
        titles[re.search(r"<title>(.*?)</title>", text, re.S).group(1).strip()].append(rel)
        if not re.search(r'<meta name="description" content="[^"]{20,}"', text):
            undescribed.append(rel)
        if text.count('rel="alternate" hreflang=') < 2:
            no_alternates.append(rel)
        assert 'rel="icon"' in text or 'rel="shortcut icon"' in text, f"{rel}: no favicon"
    shared = {title: docs for title, docs in titles.items() if len(docs) > 1}
    assert not shared, f"{len(shared)} titles shared by several pages: {list(shared.items())[:5]}"
    assert not undescribed, f"{len(undescribed)} pages without a meta description: {undescribed[:5]}"
    assert not no_alternates, f"pages without hreflang alternates: {no_alternates[:5]}"
    assert (root / "_static" / "favicon.svg").is_file()


def test_sitemap_lists_every_page_with_its_translation(english_site):
    tree = ET.parse(english_site / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    urls = tree.findall("s:url", ns)
    locs = {u.find("s:loc", ns).text for u in urls}
    assert "https://w3id.org/citydiplo/how-to/make-a-pledge.html" in locs
    assert len(urls) >= len(pages(english_site)) - 5
    alternates = {a.get("hreflang"): a.get("href") for a in urls[0].findall("x:link", ns)}
    assert set(alternates) == {"en", "de"}
    assert alternates["de"].startswith("https://w3id.org/citydiplo/de/")


#: database wording that must not reach a reader's page (entity pages and hand-written pages with query tables)
DATABASE_WORDS = re.compile(
    r"\((?:inverse|invers)\)|[Tt]op concept|<dd><p>(?:concept|concept scheme|Begriff|Begriffsschema)</p></dd>"
    r"|<th[^>]*><p>(?:Label|Bezeichnung)</p></th>|>https?://www\.w3\.org/ns/org#|>https://w3id\.org/citydiplo/def/"
)


@pytest.mark.parametrize("site", SITES)
def test_reader_pages_carry_no_database_wording(request, site):
    """Entity pages and the pages that embed query tables read as a reader expects: no "Type: concept",
    no "(inverse)" or "top concept" labels, no repeated "Label" column, no relation shown by its IRI.
    (The vocabulary's own pages, def/ and data/, may use the ontology's words.)"""
    root = request.getfixturevalue(site)
    found = []
    for path in [*sorted((root / "id").glob("*.html")), *sorted((root / "modules").rglob("*.html"))]:
        for match in DATABASE_WORDS.finditer(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(root)}: {match.group(0)}")
    assert not found, f"{len(found)} places, e.g. {found[:5]}"
