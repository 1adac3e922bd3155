"""The map of the cities on the cities directory page (citydiplo.site.citymap):
one linked dot per city with coordinates, every dot inside the drawing,
hostile labels escaped, German text in the German edition."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS, XSD

from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView
from citydiplo.site.citymap import HEIGHT, WIDTH, city_dots, city_map_figure

SVG = "{http://www.w3.org/2000/svg}"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"


@pytest.fixture(scope="module")
def view(real_project):
    return GraphView(load(real_project).graph, real_project, "en")


def svg_of(figure: str) -> ET.Element:
    match = re.search(r"<svg .*</svg>", figure, re.S)
    assert match, figure[:200]
    return ET.fromstring(match.group(0))


def cities_with_coordinates(view) -> set[str]:
    cd = view.project.def_ns
    found = set()
    for node in view.graph.subjects(RDF.type, URIRef(cd + "LocalGovernment")):
        if (node, URIRef(GEO + "lat"), None) in view.graph and (node, URIRef(GEO + "long"), None) in view.graph:
            found.add(view.slug(node))
    return found


def test_one_linked_dot_per_city_with_coordinates(view):
    figure = city_map_figure(view, lambda slug: f"../../id/{slug}.html")
    svg = svg_of(figure)
    links = svg.findall(f".//{SVG}a")
    expected = cities_with_coordinates(view)
    assert len(expected) >= 40
    assert {a.get("href") for a in links} == {f"../../id/{slug}.html" for slug in expected}
    assert len(links) == len(expected)
    for a in links:
        assert a.get("aria-label") and a.find(f"{SVG}title").text == a.get("aria-label")
        assert a.find(f"{SVG}circle") is not None
    assert svg.get("role") == "group" and svg.find(f"{SVG}title").text == "Map of the cities"
    assert svg.get("aria-labelledby") == svg.find(f"{SVG}title").get("id")
    assert "table below lists every entry" in figure
    assert len(figure.encode()) < 60_000


def test_dots_fall_inside_the_view_box(view):
    svg = svg_of(city_map_figure(view, lambda slug: slug))
    assert svg.get("viewBox") == f"0 0 {WIDTH:.1f} {HEIGHT:.1f}"
    circles = svg.findall(f".//{SVG}circle")
    assert circles
    for c in circles:
        x, y, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
        assert r <= x <= WIDTH - r and r <= y <= HEIGHT - r
    # Berlin lies north-east of Bristol and south of Helsinki
    dot = {a.get("href"): a.find(f"{SVG}circle") for a in svg.findall(f".//{SVG}a")}
    berlin, bristol, helsinki = (dot[s] for s in ("berlin", "bristol", "helsinki"))
    assert float(berlin.get("cx")) > float(bristol.get("cx")) and float(berlin.get("cy")) < float(bristol.get("cy"))
    assert float(helsinki.get("cy")) < float(berlin.get("cy"))


def test_hostile_labels_are_escaped_and_bad_coordinates_left_out(real_project):
    cd, cdi = real_project.def_ns, real_project.id_ns
    graph = Graph()
    hostile = URIRef(cdi + "hostile-town")
    graph.add((hostile, RDF.type, URIRef(cd + "LocalGovernment")))
    graph.add((hostile, SKOS.prefLabel, Literal('</title><script>alert(1)</script>" onload="x', lang="en")))
    graph.add((hostile, URIRef(GEO + "lat"), Literal("10.5", datatype=XSD.decimal)))
    graph.add((hostile, URIRef(GEO + "long"), Literal("20.25", datatype=XSD.decimal)))
    for slug, lat, lon in (("no-number", "north", "5"), ("off-the-globe", "95", "5"), ("no-long", "5", None)):
        node = URIRef(cdi + slug)
        graph.add((node, RDF.type, URIRef(cd + "LocalGovernment")))
        graph.add((node, URIRef(GEO + "lat"), Literal(lat)))
        if lon is not None:
            graph.add((node, URIRef(GEO + "long"), Literal(lon)))
    view = GraphView(graph, real_project, "en")
    dots, total = city_dots(view)
    assert [d.slug for d in dots] == ["hostile-town"] and total == 4
    figure = city_map_figure(view, lambda slug: f'x" onclick="{slug}')
    assert "<script>" not in figure and "&lt;/title&gt;&lt;script&gt;" in figure
    svg = svg_of(figure)  # well-formed: the label ended no element and added no attribute
    assert not [el for el in svg.iter() if {"onload", "onclick"} & set(el.attrib)]
    (a,) = svg.findall(f".//{SVG}a")
    assert a.get("aria-label") == '</title><script>alert(1)</script>" onload="x'
    assert a.get("href") == 'x" onclick="hostile-town'


@pytest.mark.slow
def test_the_map_is_on_the_built_cities_page_in_both_editions(english_site, german_site, view):
    count = len(cities_with_coordinates(view))
    for site, caption in ((english_site, "Where the cities are"), (german_site, "Wo die Städte liegen")):
        text = (site / "reference" / "generated" / "cities.html").read_text(encoding="utf-8")
        assert text.count('<figure class="citydiplo-map">') == 1
        figure = text[text.index('<figure class="citydiplo-map">') :]
        figure = figure[: figure.index("</figure>")]
        hrefs = re.findall(r'<a href="([^"]+)" aria-label=', figure)
        assert len(hrefs) == count
        assert all(re.fullmatch(r"\.\./\.\./id/[a-z0-9-]+\.html", h) for h in hrefs)
        assert all((site / "reference" / "generated" / h).resolve().is_file() for h in hrefs)
        assert caption in figure
    assert "Karte der Städte" in (german_site / "reference" / "generated" / "cities.html").read_text(encoding="utf-8")


def test_city_names_stay_separate_words_in_sphinxs_own_search_index(view, english_site):
    """Sphinx indexes raw HTML with its tags stripped: the map's names must not run into one word."""
    figure = city_map_figure(view, lambda slug: f"{slug}.html")
    words = re.sub(r"<[^<]+?>", "", figure).split()  # as sphinx.search.WordCollector strips raw HTML
    names = [view.label(view.node(slug)) for slug in sorted(cities_with_coordinates(view))][:3]
    assert names and all(set(name.split()) <= set(words) for name in names)
    index = (english_site / "searchindex.js").read_text(encoding="utf-8")
    assert "accraagadez" not in index.lower()
