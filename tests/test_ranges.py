"""Ranges as declared: dcterms:language and dcat:mediaType are IRIs,
dcterms:creator/publisher are agents, city departments are not cities, and
funds and campaigns are not agents unless they act. Each rule is checked on
the real graph (SPARQL) and shown to be caught by the SHACL shapes."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import ORG, RDF

from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView, strings
from citydiplo.site.compile import Compiler

LANG = "http://publications.europa.eu/resource/authority/language/"
PREFIXES = """PREFIX cd: <https://w3id.org/citydiplo/def/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
"""

#: Cities typed as cities whose English name says they are a department, office or commissioner.
MISTYPED_DEPARTMENTS = (
    PREFIXES
    + """
SELECT ?s WHERE {
  ?s a cd:LocalGovernment ; skos:prefLabel ?label FILTER(lang(?label) = "en")
  FILTER(REGEX(?label, "\\\\b(department|senate|commissioner|office|administration|agency)\\\\b", "i"))
}"""
)

#: Agents whose English definition calls them a fund or a campaign.
FUNDS_AND_CAMPAIGNS_AS_AGENTS = (
    PREFIXES
    + """
SELECT ?s WHERE {
  ?s a/rdfs:subClassOf* foaf:Agent ; skos:definition ?d FILTER(lang(?d) = "en")
  FILTER(REGEX(?d, "^(A|An|The) ([A-Za-z-]+ ){0,3}(fund|campaign)\\\\b", "i"))
}"""
)

#: Funds that act: a deciding body with members (the MMC's seat on the Migration MPTF),
#: and a UN agency that is called a fund (UNFPA, the UN Population Fund).
FUNDS_THAT_ACT = {"migration-mptf", "unfpa"}


@pytest.fixture(scope="module")
def vocab(real_project):
    return load(real_project)


def slugs(vocab, project, query: str) -> set[str]:
    return {str(row[0])[len(project.id_ns) :] for row in vocab.graph.query(query)}


def test_languages_are_authority_iris_with_names(vocab, real_project):
    values = list(vocab.graph.objects(None, URIRef("http://purl.org/dc/terms/language")))
    assert len(values) >= 5
    assert not [v for v in values if isinstance(v, Literal)]
    names = strings()["terms"]
    for value in values:
        assert str(value).startswith(LANG) and str(value)[len(LANG) :].isupper()
        assert names[str(value)]["en"] and names[str(value)]["de"]


def test_creators_publishers_are_agents_and_media_types_iris(vocab, real_project):
    not_agents = (
        PREFIXES
        + """SELECT ?s ?o WHERE { VALUES ?p { dcterms:creator dcterms:publisher } ?s ?p ?o
        FILTER NOT EXISTS { ?o a/rdfs:subClassOf* foaf:Agent } }"""
    )
    assert list(vocab.graph.query(not_agents)) == []
    assert list(vocab.graph.query(PREFIXES + "SELECT ?s WHERE { ?s dcat:mediaType ?m FILTER(!isIRI(?m)) }")) == []


def test_no_city_department_is_typed_as_a_city(vocab, real_project):
    assert slugs(vocab, real_project, MISTYPED_DEPARTMENTS) == set()
    cd = real_project.def_ns
    departments = set(vocab.graph.subjects(RDF.type, URIRef(cd + "CityDepartment")))
    assert {real_project.id_ns + s for s in ("berlin-integration-commissioner",)} <= {str(d) for d in departments}
    for department in departments:
        city = vocab.graph.value(department, ORG.unitOf)
        assert (city, RDF.type, URIRef(cd + "LocalGovernment")) in vocab.graph


def test_funds_and_campaigns_are_agents_only_when_they_act(vocab, real_project):
    assert slugs(vocab, real_project, FUNDS_AND_CAMPAIGNS_AS_AGENTS) == FUNDS_THAT_ACT
    cd = real_project.def_ns
    funds = {real_project.id_ns + s for s in ("global-cities-fund", "cities-with-refugees")}
    assert funds <= {str(s) for s in vocab.graph.subjects(RDF.type, URIRef(cd + "FundOrCampaign"))}


def test_directories_still_list_departments_and_funds(vocab, real_project):
    view = GraphView(vocab.graph, real_project, "en")
    cities = {view.slug(n) for n in view.entities_by_kind["cities"]}
    initiatives = {view.slug(n) for n in view.entities_by_kind["initiatives"]}
    assert {"berlin", "berlin-integration-commissioner"} <= cities
    assert {"mayors-mechanism", "global-cities-fund", "uclg-wave-of-action-migration"} <= initiatives


def test_pages_name_the_language_not_its_iri(vocab, real_project):
    for lang, name in (("en", "German"), ("de", "Deutsch")):
        page = Compiler(GraphView(vocab.graph, real_project, lang)).pages()["id/source-berlin-city-networks.md"]
        assert f": {name}\n" in page
        assert "publications.europa.eu" not in page


def _violations(vocab, graph) -> str:
    import pyshacl

    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=vocab.shapes, inference="none", advanced=False)
    return " | ".join(sorted(str(m) for m in report.objects(None, URIRef("http://www.w3.org/ns/shacl#resultMessage"))))


def test_shapes_catch_each_range_mistake(vocab, real_project):
    graph = Graph()
    for triple in vocab.graph:
        graph.add(triple)
    ids, cd = real_project.id_ns, real_project.def_ns
    dcterms = "http://purl.org/dc/terms/"
    source = URIRef(ids + "source-policy-paper")
    graph.remove((source, URIRef(dcterms + "language"), None))
    graph.add((source, URIRef(dcterms + "language"), Literal("de")))
    graph.add((URIRef(ids + "source-moving-cities-page"), URIRef(dcterms + "publisher"), Literal("A funder")))
    department = URIRef(ids + "berlin-integration-commissioner")
    graph.add((department, RDF.type, URIRef(cd + "LocalGovernment")))
    graph.remove((URIRef(ids + "berlin-integration-migration-department"), ORG.unitOf, None))
    fund = URIRef(ids + "global-cities-fund")
    graph.add((fund, RDF.type, URIRef(cd + "Initiative")))
    graph.add((fund, URIRef(cd + "partner"), URIRef(ids + "uclg")))
    messages = _violations(vocab, graph)
    assert "dcterms:language must be an IRI of the EU language authority" in messages
    assert "dcterms:publisher must be an agent" in messages
    assert "A city department or office is not a city" in messages
    assert "needs org:unitOf the city" in messages
    assert "A fund or campaign (cd:FundOrCampaign) does not act" in messages
    assert "A fund or campaign has no partners of its own" in messages
