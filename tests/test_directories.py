"""Directory pages: dates as readers read them, and filters by the graph's
facets that work in the browser while the page without JavaScript stays the
complete list."""

from __future__ import annotations

import io
import json
import re

from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView
from citydiplo.site.build import build_site
from citydiplo.site.compile import compile_pages

from .conftest import browser_dom, require_tool

CITIES = """@prefix cd: <https://w3id.org/citydiplo/def/> .
@prefix cdi: <https://w3id.org/citydiplo/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

cdi:region-africa a skos:Concept ;
    skos:inScheme cdi:world-regions ;
    skos:prefLabel "Africa"@en , "Afrika"@de ;
    skos:definition "The African continent."@en , "Der afrikanische Kontinent."@de ;
    dcterms:source cdi:source-policy-paper ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:region-europe a skos:Concept ;
    skos:inScheme cdi:world-regions ;
    skos:prefLabel "Europe"@en , "Europa"@de ;
    skos:definition "The European continent."@en , "Der europäische Kontinent."@de ;
    dcterms:source cdi:source-policy-paper ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:freetown a cd:LocalGovernment ;
    skos:prefLabel "Freetown"@en , "Freetown"@de ;
    skos:definition "A city in Africa."@en , "Eine Stadt in Afrika."@de ;
    cd:region cdi:region-africa ;
    org:memberOf cdi:mmc ;
    dcterms:source cdi:source-policy-paper ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:bristol a cd:LocalGovernment ;
    skos:prefLabel "Bristol"@en , "Bristol"@de ;
    skos:definition "A city in Europe."@en , "Eine Stadt in Europa."@de ;
    cd:region cdi:region-europe ;
    org:memberOf cdi:mmc , cdi:uclg ;
    dcterms:source cdi:source-policy-paper ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:athens a cd:LocalGovernment ;
    skos:prefLabel "Athens"@en , "Athen"@de ;
    skos:definition "Another city in Europe."@en , "Eine weitere Stadt in Europa."@de ;
    cd:region cdi:region-europe ;
    dcterms:source cdi:source-policy-paper ;
    cd:lastChecked "2026-11-22"^^xsd:date .
"""


def add_cities(project):
    (project.root / "vocab" / "data" / "cities.ttl").write_text(CITIES, encoding="utf-8")


def directory_of(pages, kind="cities"):
    for rel, text in pages.items():
        if rel.startswith("reference/generated/") and "citydiplo-directory-" + kind in text:
            return text
    raise AssertionError(f"no directory page for {kind}: {sorted(p for p in pages if 'generated' in p)}")


def test_directory_carries_its_facets_in_row_order(project):
    add_cities(project)
    view = GraphView(load(project).graph, project, "en")
    page = directory_of(compile_pages(view))
    data = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page).group(1))
    names = [re.sub(r"\\(.)", r"\1", m) for m in re.findall(r"^\| \[([^\]]+)\]", page, flags=re.M)]
    assert names == ["Athens", "Bristol", "Freetown"]
    assert [row.get("network", []) for row in data["rows"]] == [
        [],
        ["Mayors Migration Council", "United Cities and Local Governments"],
        ["Mayors Migration Council"],
    ]
    assert data["facets"]["region"] == "World region"
    assert "{.citydiplo-directory}" in page


def test_filters_narrow_the_list_in_a_browser(project):
    require_tool("chromium", "runs the directory filters as a reader's browser would")
    add_cities(project)
    site = build_site(project, jobs=1, status=io.StringIO())
    page = next(
        p for p in (site / "reference" / "generated").glob("*.html") if "citydiplo-directory-cities" in p.read_text()
    )
    html = page.read_text()
    assert html.count("<tr") >= 4  # no JavaScript: the complete list
    url = page.as_uri() + "?network=United+Cities+and+Local+Governments"
    dom = browser_dom(url, "runs the directory filters as a reader's browser would")
    assert 'id="citydiplo-filter-region"' in dom and 'id="citydiplo-filter-network"' in dom
    body = dom[dom.index("<tbody") : dom.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>", body)
    assert len(rows) == 3
    assert sum("hidden" in row for row in rows) == 2  # only Bristol is a UCLG member
    assert "1 / 3" in dom
