"""The fast SHACL engine (pyshacl-turbo) reports what pySHACL, the reference, reports."""

from __future__ import annotations

import pytest
from rdflib import BNode
from rdflib.namespace import RDF, SH

from citydiplo.graph.load import load
from citydiplo.graph.validate import check_shacl, fast_data, run_shacl, shacl_engine

from .conftest import edit

pytest.importorskip("pyshacl_turbo")

ACTORS = "vocab/data/actors.ttl"

#: deliberately broken data: (file, old text, new text)
BROKEN = {
    "valid": [],
    "missing German label": [(ACTORS, ', "Mayors Migration Council"@de ;', " ;")],
    "two English definitions": [
        (ACTORS, '"The UN agency for migration."@en ,', '"The UN agency for migration."@en , "Another."@en ,')
    ],
    "no source": [
        (
            ACTORS,
            '    dcterms:source cdi:source-policy-paper ;\n    cd:lastChecked "2026-11-22"^^xsd:date .\n\ncdi:uclg',
            '    cd:lastChecked "2026-11-22"^^xsd:date .\n\ncdi:uclg',
        )
    ],
    "source is a literal": [
        (
            ACTORS,
            "dcterms:source cdi:source-policy-paper , <https://gfmd.org",
            'dcterms:source "a paper" , <https://gfmd.org',
        )
    ],
    "wrong date datatype": [
        (ACTORS, 'cd:lastChecked "2026-11-22"^^xsd:date .\n\ncdi:gfmd', 'cd:lastChecked "22.11.2026" .\n\ncdi:gfmd')
    ],
    "ill-typed date": [
        (
            ACTORS,
            'cd:lastChecked "2026-11-22"^^xsd:date .\n\ncdi:gfmd',
            'cd:lastChecked "2026-13-45"^^xsd:date .\n\ncdi:gfmd',
        )
    ],
    "country is not a state": [(ACTORS, "    cd:region cdi:region-global ;\n", "    cd:country cdi:uclg ;\n")],
    "membership without organisation": [
        (
            ACTORS,
            'Kommunen."@de ;\n    org:hasMembership [ a org:Membership ;\n'
            "        org:organization cdi:mayors-mechanism ;",
            'Kommunen."@de ;\n    org:hasMembership [ a org:Membership ;',
        )
    ],
    "membership with a bad start date": [
        (
            ACTORS,
            'hilft."@de ;\n    org:hasMembership [ a org:Membership ;\n'
            "        org:organization cdi:mayors-mechanism ;\n"
            '        org:role cdi:role-co-lead ;\n        schema:startDate "2018"^^xsd:gYear ;',
            'hilft."@de ;\n    org:hasMembership [ a org:Membership ;\n'
            "        org:organization cdi:mayors-mechanism ;\n"
            '        org:role cdi:role-co-lead ;\n        schema:startDate "spring" ;',
        )
    ],
    "access option without route": [(ACTORS, "        cd:route cdi:route-constituency-mechanism ;\n", "")],
}


def test_the_default_engine_is_the_fast_one(monkeypatch):
    monkeypatch.delenv("CITYDIPLO_SHACL", raising=False)
    assert shacl_engine().__name__ == "pyshacl_turbo"
    monkeypatch.setenv("CITYDIPLO_SHACL", "pyshacl")
    assert shacl_engine().__name__ == "pyshacl"


def results(report) -> list[tuple]:
    """What a report finds (not how it words it): focus, path, value, severity, constraint."""

    def name(node):
        return "[blank]" if isinstance(node, BNode) else str(node)

    found = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        found.append(
            tuple(
                name(report.value(result, p))
                for p in (SH.focusNode, SH.resultPath, SH.value, SH.resultSeverity, SH.sourceConstraintComponent)
            )
        )
    return sorted(found)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_engines_agree(project, case):
    for path, old, new in BROKEN[case]:
        edit(project.root / path, old, new)
    vocab = load(project)
    assert not vocab.problems  # still valid Turtle: only SHACL speaks
    reference = results(run_shacl(vocab.graph, vocab.shapes, "pyshacl"))
    fast = results(run_shacl(vocab.graph, vocab.shapes, "turbo"))
    assert fast == reference
    # the fast engine as validate() runs it: on a store read from the same files
    assert results(run_shacl(fast_data(vocab), vocab.shapes, "turbo")) == reference
    assert bool(reference) == (case != "valid")
    # what `citydiplo validate` prints is the reference's wording, whichever engine runs
    assert list(map(str, check_shacl(vocab, "turbo"))) == list(map(str, check_shacl(vocab, "pyshacl")))
