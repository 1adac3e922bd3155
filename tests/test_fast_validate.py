"""``validate()``'s fast path finds exactly what the plain checks find.

The fast path runs SHACL in a fork and asks the parsed triples whether each
other check has anything to report (``Quick``); only a check that has runs on
the rdflib graph. Here every case of the bad-input corpus, and a few made for
the questions, is validated both ways.
"""

from __future__ import annotations

import datetime as dt

import pytest

from citydiplo.graph import validate as V
from citydiplo.graph.load import load

from .badinput.corpus import ACTORS, append, network, replace
from .badinput.test_vocab import CASES

QUESTIONS = {
    "version": (V.check_version, "version_clean"),
    "references": (V.check_references, "references_clean"),
    "literals": (V.check_literals, "literals_clean"),
}

#: made for the questions: each must make its own check find something
EXTRA = {
    "stale fact": lambda root: replace(
        root,
        ACTORS,
        'cd:lastChecked "2026-11-22"^^xsd:date .\n\ncdi:gfmd',
        'cd:lastChecked "2019-01-01"^^xsd:date .\n\ncdi:gfmd',
    ),
    "past validUntil": lambda root: append(root, ACTORS, network(extra='    cd:validUntil "2020-01-01"^^xsd:date ;\n')),
    "gYear with letters": lambda root: append(root, ACTORS, network(extra='    dcterms:issued "20x4"^^xsd:gYear ;\n')),
    "thing typed outside id/": lambda root: append(root, ACTORS, network(subject="<https://example.org/thing>")),
    "term used as subject outside the ontology": lambda root: append(
        root, ACTORS, "cd:NewTerm a <http://www.w3.org/2002/07/owl#Class> .\n"
    ),
    "predicate that is not a term": lambda root: append(root, ACTORS, network(extra='    cd:nosuchTerm "x" ;\n')),
    "link to an undefined thing": lambda root: append(root, ACTORS, network(extra="    cd:host cdi:nowhere ;\n")),
    "malformed slug": lambda root: append(root, ACTORS, network(subject="cdi:Bad_Slug")),
    "version mismatch": lambda root: replace(
        root, "vocab/ontology/citydiplo.ttl", 'owl:versionInfo "', 'owl:versionInfo "9'
    ),
}

TODAY = dt.date(2026, 12, 4)
#: every bad-input case (slow: each is validated twice), then the cases made here
ALL = [pytest.param(name, marks=pytest.mark.slow) for name in sorted(CASES)] + sorted(EXTRA)


def apply(name: str, root, monkeypatch) -> None:
    if name in EXTRA:
        EXTRA[name](root)
        return
    func = CASES[name]
    func(root, monkeypatch) if "monkeypatch" in func.__code__.co_varnames else func(root)


@pytest.mark.parametrize("name", ALL)
def test_fast_path_finds_what_the_plain_checks_find(name, project, monkeypatch):
    """The fast engine in a fork plus the questions, against every check on
    the rdflib graph with pySHACL alone: the same problems, worded the same."""
    apply(name, project.root, monkeypatch)
    fast = V.validate(load(project), TODAY)
    monkeypatch.setenv("CITYDIPLO_SHACL", "pyshacl")  # the reference engine alone, no fast path anywhere
    plain = V.validate_exact(load(project), TODAY)
    assert list(map(str, fast)) == list(map(str, plain))
    if name in EXTRA:
        assert plain, "the case was meant to be found"


@pytest.mark.parametrize("name", ALL)
def test_a_quick_clean_is_clean(name, project, monkeypatch):
    """A question that answers "clean" is never wrong (it may say "not clean"
    wrongly: the check then runs and finds nothing)."""
    apply(name, project.root, monkeypatch)
    vocab = load(project)
    quick = V.Quick.of(vocab, TODAY)
    assert quick is not None
    answers = {key: getattr(quick, attr)() for key, (_, attr) in QUESTIONS.items()}
    answers["staleness"] = quick.staleness_clean()
    for key, (check, _) in QUESTIONS.items():
        if answers[key]:
            assert check(vocab) == [], key
    if answers["staleness"]:
        assert V.check_staleness(vocab, TODAY) == []


def test_the_questions_are_asked_of_the_parsed_triples(project, monkeypatch):
    """A clean vocabulary is validated without making its rdflib graph."""
    vocab = load(project)
    made = []
    monkeypatch.setattr(type(vocab), "graph", property(lambda self: made.append(1) or self._graph))
    assert V.validate(vocab, TODAY) == []
    assert not made


#: the question each made case must answer "not clean"
MEANT = {
    "stale fact": "staleness",
    "past validUntil": "staleness",
    "gYear with letters": "literals",
    "thing typed outside id/": "references",
    "term used as subject outside the ontology": "references",
    "predicate that is not a term": "references",
    "link to an undefined thing": "references",
    "malformed slug": "references",
    "version mismatch": "version",
}


@pytest.mark.parametrize("name", sorted(MEANT))
def test_each_question_sees_its_own_problem(name, project, monkeypatch):
    apply(name, project.root, monkeypatch)
    quick = V.Quick.of(load(project), TODAY)
    question = "staleness_clean" if MEANT[name] == "staleness" else QUESTIONS[MEANT[name]][1]
    assert getattr(quick, question)() is False
    others = {attr for _, attr in QUESTIONS.values()} | {"staleness_clean"}
    if name != "thing typed outside id/":  # also a term used as a subject
        assert all(getattr(quick, attr)() for attr in others - {question})


def test_without_a_fork_the_result_is_the_same(project, monkeypatch):
    EXTRA["link to an undefined thing"](project.root)
    with_fork = V.validate(load(project), TODAY)
    monkeypatch.setattr(V.background, "available", lambda: False)
    assert V.validate(load(project), TODAY) == with_fork


def test_a_failed_engine_in_the_fork_falls_back_to_this_process(project, monkeypatch):
    """The fork's engine stops (an exception comes back through the pipe): the
    check runs here, and a clean vocabulary is still clean."""

    def broken(project, engine=None):
        raise ValueError("cannot compare")

    monkeypatch.setattr(V, "fast_shacl_clean", broken)
    assert V.validate(load(project), TODAY) == []


def test_the_fork_does_not_outlive_a_failed_check(project, monkeypatch):
    started = []
    real = V.start_shacl

    def spy(project):
        job = real(project)
        started.append(job)
        return job

    def fail(vocab):
        raise RuntimeError("boom")

    monkeypatch.setattr(V, "start_shacl", spy)
    monkeypatch.setattr(V, "check_prefixes", fail)
    with pytest.raises(RuntimeError):
        V.validate(load(project), TODAY)
    if started[0] is not None:
        import os

        with pytest.raises(ChildProcessError):
            os.waitpid(started[0].pid, os.WNOHANG)  # reaped: no zombie left


def test_a_graph_changed_in_memory_is_validated_as_it_is(project):
    """The fork reads the files; once the rdflib graph exists (and may have been
    changed), its verdict is not trusted and SHACL runs on the graph itself."""
    from rdflib import URIRef
    from rdflib.namespace import SKOS

    vocab = load(project)
    network = URIRef(project.id_ns + "mmc")
    labels = list(vocab.graph.triples((network, SKOS.prefLabel, None)))
    assert labels
    for triple in labels:
        vocab.graph.remove(triple)
    found = V.validate(vocab, TODAY)
    assert any(p.code == "shacl" and "cdi:mmc" in str(p) for p in found), found


def test_files_that_share_a_blank_node_label_keep_their_nodes_apart(project):
    """``_:x`` in two files is two nodes (Turtle scopes a label to its document):
    the fast engine's store holds as many triples as the rdflib graph."""
    for name in ("a", "b"):
        append(
            project.root,
            f"vocab/data/{name}.ttl",
            '@prefix cd: <https://w3id.org/citydiplo/def/> .\n_:x cd:note "n" .\n',
        )
    vocab = load(project)
    assert len(V.fast_data(vocab)) == len(vocab.graph)
    assert len(V.fast_data(vocab)) == len(vocab.graph)  # from the rdflib graph too, once it exists


def test_a_verdict_on_other_files_is_not_trusted(project, monkeypatch):
    """The fork read the files after they changed (its fingerprint is not the
    loaded one's): SHACL runs here, on what was loaded."""
    vocab = load(project)
    real = V.fast_shacl_clean
    monkeypatch.setattr(V, "fast_shacl_clean", lambda project, engine=None: (("other",), real(project, engine)[1]))
    ran = []
    check = V.check_shacl
    monkeypatch.setattr(V, "check_shacl", lambda vocab, engine=None: ran.append(1) or check(vocab, engine))
    assert V.validate(vocab, TODAY) == []
    assert ran == [1]


def test_shapes_already_made_into_a_graph_are_asked_as_well(project, monkeypatch):
    apply("term used as subject outside the ontology", project.root, monkeypatch)
    vocab = load(project)
    assert len(vocab.shapes)  # the shapes become an rdflib graph first; the data stays parsed
    assert V.Quick.of(vocab, TODAY) is not None
    assert V.validate(vocab, TODAY) == V.validate_exact(load(project), TODAY) != []
