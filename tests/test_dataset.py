"""The dataset as a release: DCAT-AP description, the published graph for
queries, per-IRI descriptions, versioned downloads and the data changelog."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import rdflib

from citydiplo.cli import main
from citydiplo.graph.export import (
    ExportError,
    description,
    export,
    read_triples,
    to_rdflib,
    version_dir,
)
from citydiplo.graph.query import make_store, run_query
from citydiplo.graph.views import GraphView
from citydiplo.site.publish import documents, schema_org

from .conftest import TESTS

DCAT_AP = TESTS / "data" / "dcat-ap" / "dcat-ap-SHACL.ttl"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")


@pytest.fixture(scope="module")
def real_description(real_project):
    data = read_triples(real_project)
    return data, to_rdflib(description(real_project, data))


def test_description_conforms_to_dcat_ap_3(real_description):
    import pyshacl

    _data, graph = real_description
    shapes = rdflib.Graph().parse(DCAT_AP, format="turtle")
    # RDFS entailment, as DCAT-AP's range checks expect (every URL is an rdfs:Resource)
    conforms, _report, text = pyshacl.validate(graph, shacl_graph=shapes, inference="rdfs")
    assert conforms, text[:3000]


def test_description_counts_and_links(real_description, real_project):
    data, graph = real_description
    ds = rdflib.URIRef(real_project.base_iri + "dataset")
    described = {t.subject.value for t in data if t.subject.value.startswith(real_project.id_ns)}
    assert int(graph.value(ds, VOID.entities)) == len(described) > 400
    assert str(graph.value(ds, rdflib.OWL.versionIRI)) == f"{real_project.base_iri}dist/{real_project.version}/"
    service = graph.value(ds, VOID.sparqlEndpoint)
    assert (service, rdflib.RDF.type, DCAT.DataService) in graph
    assert graph.value(service, DCAT.servesDataset) == ds
    assert graph.value(ds, DCAT.contactPoint) is not None and graph.value(ds, DCAT.theme) is not None
    period = graph.value(ds, rdflib.DCTERMS.temporal)
    assert str(graph.value(period, DCAT.startDate)) <= str(graph.value(period, DCAT.endDate))
    for dist in graph.objects(ds, DCAT.distribution):
        assert graph.value(dist, DCAT.accessURL) is not None, dist
        assert str(graph.value(dist, DCAT.mediaType)).startswith("http://www.iana.org/assignments/media-types/")


def test_query_answers_over_the_published_graph(real_project):
    """A citation needs the dataset's title, version and licence: they are in the store."""
    store = make_store(real_project)
    text = """
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?title ?version ?licence WHERE {
            ?ds a <http://www.w3.org/ns/dcat#Dataset> ; dcterms:title ?title ; owl:versionInfo ?version ;
                dcterms:license ?licence . FILTER (lang(?title) = "en") }
    """
    _variables, rows = run_query(real_project, text, store=store)
    assert [[t.value for t in row] for row in rows] == [[real_project.name, real_project.version, real_project.licence]]
    assert len(store) == len(set(read_triples(real_project) + description(real_project, read_triples(real_project))))


def test_per_iri_description_has_incoming_links(project):
    data = read_triples(project)
    docs = documents(project, data)
    graph = rdflib.Graph().parse(data=docs["id/mayors-mechanism.ttl"].decode(), format="turtle")
    ids = rdflib.Namespace(project.id_ns)
    org = rdflib.Namespace("http://www.w3.org/ns/org#")
    # the memberships of its co-leads point at it, from their owners' blank nodes
    members = {owner for owner, m in graph.subject_objects(org.hasMembership) if graph.value(m, org.organization)}
    assert members == {ids.iom, ids.uclg, ids.mmc}
    assert (ids.iom, rdflib.SKOS.prefLabel, rdflib.Literal("International Organization for Migration", lang="en")) in (
        graph
    )


def test_embedded_json_ld_uses_the_dumps_schema_org_namespace(project):
    from citydiplo.graph.load import load

    view = GraphView(load(project).graph, project, "en")
    doc = schema_org(view, rdflib.URIRef(project.id_ns + "gfmd"))
    expanded = rdflib.Graph().parse(data=__import__("json").dumps(doc), format="json-ld")
    types = {str(o) for o in expanded.objects(rdflib.URIRef(project.id_ns + "gfmd"), rdflib.RDF.type)}
    assert types == {"https://schema.org/EventSeries"}


def test_release_folders_are_kept(project):
    out = project.build_dir / "dist"
    export(project, out)
    first = out / project.version
    assert (first / "citydiplo.ttl").read_bytes() == (out / "citydiplo.ttl").read_bytes()
    newer = dataclasses.replace(project, version="0.2.0")
    export(newer, out)
    assert (out / "0.2.0" / "citydiplo.nt").is_file() and (first / "citydiplo.nt").is_file()
    with pytest.raises(ExportError, match="cannot name a folder"):
        version_dir(out, "../evil")


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_diff_lists_added_removed_and_changed_entities(project):
    root = str(project.root)
    old, new = project.build_dir / "old", project.build_dir / "new"
    export(project, old)
    actors = project.vocab_dir / "data" / "actors.ttl"
    text = actors.read_text(encoding="utf-8")
    # changed: a label (mmc) and the content of a blank node (iom's membership)
    text = text.replace('"Mayors Migration Council"@en', '"Mayors Migration Council (MMC)"@en', 1)
    iom = text.index("cdi:iom a")
    text = text[:iom] + text[iom:].replace('"2018"^^xsd:gYear', '"2019"^^xsd:gYear', 1)
    # removed: the GFMD; added: a new network
    start = text.index("cdi:gfmd a cd:Forum")
    end = text.find("\n\n", start)
    text = text[:start] + (text[end + 2 :] if end != -1 else "")
    mmc = text.index("cdi:mmc a")
    block = text[mmc : text.index("\n\n", mmc) + 2]
    text += "\n" + block.replace("cdi:mmc a", "cdi:new-network a").replace(
        "Mayors Migration Council (MMC)", "New Network"
    )
    actors.write_text(text, encoding="utf-8")
    export(project, new)
    code, out, err = run("--root", root, "diff", str(old), str(new / "citydiplo.ttl"))
    assert code == 0, err
    assert "### Added (1)\n\n- `cdi:new-network` New Network\n" in out
    assert "### Removed (1)\n\n- `cdi:gfmd` Global Forum on Migration and Development\n" in out
    assert "- `cdi:mmc` Mayors Migration Council (MMC): `skos:prefLabel`\n" in out
    assert "- `cdi:iom` International Organization for Migration: `org:hasMembership`\n" in out  # blank node content
    assert "`cdi:uclg`" not in out
    code, out, _ = run("--root", root, "diff", str(old), str(old))
    assert code == 0 and "0 added, 0 removed, 0 changed." in out


def test_diff_reports_a_missing_dump(project, tmp_path):
    code, out, err = run("--root", str(project.root), "diff", str(tmp_path), str(tmp_path / "nothing.nt"))
    assert code == 1 and out == ""
    assert err.startswith("citydiplo: ") and "no citydiplo.nt or citydiplo.ttl" in err and "Traceback" not in err


def test_diff_of_the_real_release_against_itself(real_project, tmp_path: Path):
    export(dataclasses.replace(real_project, build_dir=tmp_path), tmp_path / "dist")
    code, out, _ = run(
        "--root", str(real_project.root), "diff", str(tmp_path / "dist"), str(tmp_path / "dist" / real_project.version)
    )
    assert code == 0 and "0 added, 0 removed, 0 changed." in out
