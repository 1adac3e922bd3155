"""The scale benchmark's synthetic entities are valid data shaped like the real ones."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rdflib import URIRef
from rdflib.namespace import RDF, SKOS

from citydiplo.config import load_project
from citydiplo.graph.load import load
from citydiplo.graph.validate import errors, validate

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
import synth  # noqa: E402


def test_fifty_synthetic_entities_validate(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "vocab", root / "vocab")
    (root / "handbook").mkdir()
    graph = synth.generate(50, root)
    synth.write(graph, root / "vocab" / "data" / "synthetic.ttl")

    project = load_project(root)
    vocab = load(project)
    assert errors(validate(vocab)) == []

    made = {s for s in graph.subjects(RDF.type, None) if "/id/syn-" in str(s)}
    assert len(made) == 50
    for node in made:
        langs = sorted(v.language for v in graph.objects(node, SKOS.prefLabel))
        assert langs == ["de", "en"], node
        assert sorted(v.language for v in graph.objects(node, SKOS.definition)) == ["de", "en"], node
        assert (node, URIRef(project.def_ns + "lastChecked"), None) in graph, node
        assert (node, URIRef("http://purl.org/dc/terms/source"), None) in graph, node
    kinds = {str(t) for node in made for t in graph.objects(node, RDF.type)}
    assert len(kinds) >= 8
    # linked among themselves, not only to the real entities
    assert any(o in made for s in made for o in graph.objects(s, None))
    # every synthetic entity is mapped to its line in synthetic.ttl
    assert all(vocab.origins[node].path.name == "synthetic.ttl" for node in made)
