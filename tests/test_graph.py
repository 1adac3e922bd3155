"""The real knowledge graph: valid, complete for the floors, queries answer as expected."""

from __future__ import annotations

import csv
import io

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from citydiplo.graph.load import load
from citydiplo.graph.query import load_queries, make_store, run_query, to_csv
from citydiplo.graph.validate import errors, validate

from .conftest import REPO


@pytest.fixture(scope="module")
def vocab(real_project):
    return load(real_project)


def test_real_graph_has_no_errors(vocab):
    assert [str(p) for p in errors(validate(vocab))] == []


def test_every_entity_has_labels_definitions_and_a_source(vocab, real_project):
    from rdflib.namespace import DCTERMS

    missing = []
    for subject in set(vocab.graph.subjects(RDF.type, None)):
        if not str(subject).startswith(real_project.id_ns):
            continue
        for lang in ("en", "de"):
            for prop in (SKOS.prefLabel, SKOS.definition):
                if not any(getattr(v, "language", None) == lang for v in vocab.graph.objects(subject, prop)):
                    missing.append(f"{subject} {prop} @{lang}")
        if (subject, DCTERMS.source, None) not in vocab.graph:
            missing.append(f"{subject} dcterms:source")
    assert missing == []


def test_sources_are_cited_by_their_entity_not_their_address(vocab, real_project):
    """vocab/README.md, "Sources": a page that has a source entity is cited by
    that entity's IRI, so that its title, publisher and date come with the
    citation and a query can say on whose word a statement rests. Only the
    source entity itself names its own address."""
    from rdflib.namespace import DCTERMS

    schema_url = URIRef("https://schema.org/url")
    entity_of = {
        address: source
        for source, address in vocab.graph.subject_objects(schema_url)
        if str(source).startswith(real_project.id_ns + "source-")
    }
    by_address = [
        f"{subject} cites <{address}>: cite {entity_of[address]}"
        for subject, address in vocab.graph.subject_objects(DCTERMS.source)
        if address in entity_of and entity_of[address] != subject
    ]
    assert sorted(by_address) == []


def count(vocab, project, cls):
    root = URIRef(project.def_ns + cls)
    classes = set(vocab.graph.transitive_subjects(RDFS.subClassOf, root))
    return len({s for c in classes for s in vocab.graph.subjects(RDF.type, c) if str(s).startswith(project.id_ns)})


@pytest.mark.parametrize(
    ("classes", "floor"),
    [
        (("Actor",), 120),
        (("LocalGovernment",), 35),
        (("CityNetwork",), 25),
        (("InternationalOrganisation",), 20),
        (("Forum", "Framework", "Process"), 20),
        (("Meeting",), 30),
        (("Document",), 25),
    ],
)
def test_graph_meets_the_floors(vocab, real_project, classes, floor):
    assert sum(count(vocab, real_project, c) for c in classes) >= floor


QUERIES = load_queries(__import__("citydiplo.config", fromlist=["load_project"]).load_project(REPO))


def test_at_least_fifteen_queries():
    assert len(QUERIES) >= 15


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_query_gives_its_expected_answer(query, real_project):
    expected_path = query.path.with_suffix(".csv")
    assert expected_path.is_file(), f"{query.name}: no expected answer {expected_path.name}"
    variables, rows = run_query(real_project, query.text, store=_store(real_project))
    got = list(csv.reader(io.StringIO(to_csv(variables, rows))))
    expected = list(csv.reader(io.StringIO(expected_path.read_text(encoding="utf-8"))))
    assert got == expected
    assert query.title and query.description


_STORE = {}


def _store(project):
    if "s" not in _STORE:
        _STORE["s"] = make_store(project)
    return _STORE["s"]


@pytest.mark.slow  # the OWL RL closure of the real graph: ≈ 18 s
def test_owl_rl_closure_still_conforms(vocab):
    import owlrl
    import pyshacl

    closed = Graph()
    for triple in vocab.graph:
        closed.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closed)
    conforms, _report, text = pyshacl.validate(
        smushed(closed, vocab.project), shacl_graph=vocab.shapes, inference="none", advanced=True
    )
    assert conforms, text[:3000]


def smushed(graph: Graph, project) -> Graph:
    """The graph with every owl:sameAs alias (GeoNames, Wikidata) replaced by
    the project IRI it is the same as. OWL RL copies every fact of a city to
    its aliases, so the closure says three times that Dakar lies in Senegal
    (senegal, its GeoNames and its Wikidata IRI); SHACL knows no equality and
    would count three countries. Validating modulo equality is what a
    consumer that merges owl:sameAs sees."""
    from rdflib.namespace import OWL

    canonical = {}
    for a, b in graph.subject_objects(OWL.sameAs):
        if str(a).startswith(project.id_ns) and not str(b).startswith(project.id_ns):
            canonical[b] = a
    out = Graph()
    for s, p, o in graph:
        s, o = canonical.get(s, s), canonical.get(o, o)
        if p == OWL.sameAs and s == o:
            continue
        out.add((s, p, o))
    return out
