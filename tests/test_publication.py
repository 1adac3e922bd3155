"""Linked-data publication: the dump in every format, each IRI's own RDF
files and schema.org markup in the built site, checked with real engines
(an ``oxigraph serve`` process over HTTP, Jena ``riot`` from Debian)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple
from rdflib.compare import isomorphic

from citydiplo.graph import jsonld
from citydiplo.graph.export import (
    CSV_COLUMNS,
    canonical,
    canonical_whole,
    csv_names,
    export,
    prefixes,
    published,
    read_triples,
)
from citydiplo.graph.query import load_queries, make_store, run_query, term_text
from citydiplo.graph.validate import errors, validate
from citydiplo.graph.views import KINDS
from citydiplo.site.build import build_site
from citydiplo.site.publish import by_object, by_subject, describe, documents, incoming

from .conftest import make_project, require_tool

XSD = "http://www.w3.org/2001/XMLSchema#"
# rdflib 7.6's JSON-LD parser uses its own deprecated ConjunctiveGraph; not ours
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


def graph_of(path: Path, fmt: str) -> rdflib.Graph:
    rdflib.NORMALIZE_LITERALS = False
    return rdflib.Graph().parse(path, format=fmt)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The fixture project, built once (HTML with the RDF files, and the dump)."""
    project = make_project(tmp_path_factory.mktemp("publication") / "repo")
    out = build_site(project, jobs=1, status=io.StringIO())
    export(project)
    return project, out


# ----------------------------------------------------------------- the dump
def test_dump_has_every_format_and_checksums_cover_every_file(site):
    project, _ = site
    dist = project.build_dir / "dist"
    release = dist / project.version  # the same files, kept per release (owl:versionIRI)
    names = sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file() and release not in p.parents)
    expected = ["citydiplo.jsonld", "citydiplo.nt", "citydiplo.ttl", *csv_names()]
    assert names == sorted([*expected, "SHA256SUMS"])
    for name in names:
        assert (release / name).read_bytes() == (dist / name).read_bytes(), name
    sums = {}
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        sums[name] = digest
    assert sorted(sums) == sorted(expected)
    for name, digest in sums.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name


def test_description_lists_every_download(site):
    project, _ = site
    g = graph_of(project.build_dir / "dist/citydiplo.ttl", "turtle")
    ds = rdflib.URIRef(project.base_iri + "dataset")
    void, dcat = rdflib.Namespace("http://rdfs.org/ns/void#"), rdflib.Namespace("http://www.w3.org/ns/dcat#")
    dumps = {str(o) for o in g.objects(ds, void.dataDump)}
    assert dumps == {project.base_iri + f"dist/citydiplo.{s}" for s in ("ttl", "nt", "jsonld")}
    distributions = {str(o) for o in g.objects(ds, dcat.distribution)}
    sparql = project.base_iri + "sparql#distribution"
    assert distributions == dumps | {project.base_iri + "dist/" + name for name in csv_names()} | {sparql}
    media = {str(g.value(rdflib.URIRef(d), dcat.mediaType)) for d in distributions}
    iana = "http://www.iana.org/assignments/media-types/"
    assert media == {
        iana + m
        for m in (
            "text/turtle",
            "application/n-triples",
            "application/ld+json",
            "text/csv",
            "application/sparql-results+json",
        )
    }
    spdx = rdflib.Namespace("http://spdx.org/rdf/terms#")
    for name in csv_names():  # size and checksum of each CSV table, as written
        dist = rdflib.URIRef(project.base_iri + "dist/" + name)
        content = (project.build_dir / "dist" / name).read_bytes()
        assert int(g.value(dist, dcat.byteSize)) == len(content)
        checksum = g.value(dist, spdx.checksum)
        assert str(g.value(checksum, spdx.checksumValue)) == hashlib.sha256(content).hexdigest()
    assert str(g.value(ds, void.triples)) == str(len(set(read_triples(project))))
    assert str(g.value(ds, rdflib.URIRef("http://purl.org/dc/terms/license"))) == project.licence


def test_jsonld_dump_is_compact_and_the_same_graph(site):
    project, _ = site
    dist = project.build_dir / "dist"
    doc = json.loads((dist / "citydiplo.jsonld").read_text())
    assert doc["@context"]["cd"] == project.def_ns and doc["@context"]["cdi"] == project.id_ns
    gfmd = next(node for node in doc["@graph"] if node["@id"] == "cdi:gfmd")
    assert gfmd["@type"] == "cd:Forum"
    assert {"@value": "Global Forum on Migration and Development", "@language": "en"} in gfmd["skos:prefLabel"]
    assert gfmd["cd:lastChecked"] == {"@value": "2026-11-22", "@type": "xsd:date"}
    option = gfmd["cd:hasAccessOption"]  # a blank node used once is embedded
    assert "@id" not in option and option["cd:via"] == {"@id": "cdi:mayors-mechanism"}
    turtle = graph_of(dist / "citydiplo.ttl", "turtle")
    assert isomorphic(graph_of(dist / "citydiplo.jsonld", "json-ld"), turtle)
    parsed = list(pyoxigraph.parse(path=str(dist / "citydiplo.jsonld"), format=RdfFormat.JSON_LD))
    assert len(parsed) == len(turtle)


def run_export(project, seed: int) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run(
        [sys.executable, "-m", "citydiplo.cli", "--root", str(project.root), "export"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dist = project.build_dir / "dist"
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()}


def test_every_dump_file_is_byte_identical_across_runs(project):
    assert run_export(project, 1) == run_export(project, 2)


def test_csv_tables_one_per_kind(site):
    project, _ = site
    dist = project.build_dir / "dist"
    for kind in KINDS:
        rows = list(csv.DictReader((dist / f"csv/{kind.key}.csv").open(encoding="utf-8", newline="")))
        header = (dist / f"csv/{kind.key}.csv").read_text().splitlines()[0]
        assert header == ",".join(CSV_COLUMNS)
        if kind.key == "forums":
            assert [r["slug"] for r in rows] == ["gfmd"]
        if kind.key == "city-networks":
            assert [r["slug"] for r in rows] == ["mmc", "uclg"]  # sorted by IRI
    forums = list(csv.DictReader((dist / "csv/forums.csv").open(encoding="utf-8", newline="")))
    gfmd = forums[0]
    assert gfmd["iri"] == project.id_ns + "gfmd"
    assert gfmd["label_de"] == "Globales Forum für Migration und Entwicklung"
    assert gfmd["alt_labels"] == "GFMD"
    assert gfmd["type"] == "cd:Forum"
    assert gfmd["sources"] == project.id_ns + "source-policy-paper"
    assert gfmd["last_checked"] == "2026-11-22" and gfmd["deprecated"] == "false"
    iom = next(csv.DictReader((dist / "csv/international-organisations.csv").open(encoding="utf-8", newline="")))
    assert iom["region"] == "Global"
    concepts = list(csv.DictReader((dist / "csv/concepts.csv").open(encoding="utf-8", newline="")))
    assert {"slug": "role-co-lead", "scheme": "roles"}.items() <= next(
        r for r in concepts if r["slug"] == "role-co-lead"
    ).items()


# ------------------------------------------------------------ JSON-LD writer
def n(iri):
    return NamedNode("http://example.org/" + iri)


def hostile_blank_nodes() -> list[Triple]:
    """Blank nodes that RDFC-1.0 can tell apart only by their neighbours:
    isomorphic pairs, a chain, a cycle, two linked only through a named node,
    one inside a quoted triple, and plain triples around them."""
    ex = "http://example.org/"
    a, b, c, d, e, f, q = (BlankNode() for _ in range(7))
    p, x, y = NamedNode(ex + "p"), NamedNode(ex + "x"), NamedNode(ex + "y")
    label = NamedNode(ex + "label")
    return [
        Triple(x, p, a),
        Triple(x, p, b),  # a and b alike at first degree …
        Triple(a, label, Literal("one")),
        Triple(b, label, Literal("one")),
        Triple(a, p, c),  # … told apart by what follows them
        Triple(c, p, d),
        Triple(d, p, c),  # a cycle
        Triple(e, p, x),
        Triple(f, p, x),  # linked only through a named node
        Triple(x, label, Literal("plain")),
        Triple(y, p, x),
        Triple(y, label, Literal("one")),
        Triple(q, p, Triple(x, p, e)),  # a quoted triple holding a blank node
    ]


def test_canonical_labels_are_those_of_the_whole_graph(real_project):
    """canonical() puts only the triples that hold a blank node through
    RDFC-1.0: the same triples, labels and order as the whole graph through it."""
    pub = published(real_project)
    data = pub.data + pub.description
    assert any(isinstance(t.subject, BlankNode) for t in data)
    assert canonical(data) == canonical_whole(data)
    hostile = hostile_blank_nodes()
    assert canonical(hostile) == canonical_whole(hostile)
    assert canonical(hostile + data) == canonical_whole(hostile + data)
    assert canonical(list(reversed(hostile))) == canonical(hostile)  # not the order of the input
    plain = [t for t in hostile if not isinstance(t.subject, BlankNode) and not isinstance(t.object, BlankNode)]
    assert canonical(plain) == canonical_whole(plain)
    assert canonical([]) == []


def test_jsonld_writer_embeds_single_use_blank_nodes_and_keeps_shared_ones():
    b1, b2 = BlankNode("c14n0"), BlankNode("c14n1")
    triples = [
        Triple(n("a"), n("p"), b1),
        Triple(b1, n("q"), Literal("2018", datatype=NamedNode(XSD + "gYear"))),
        Triple(n("a"), n("r"), b2),
        Triple(n("b"), n("r"), b2),
        Triple(b2, n("q"), Literal("x")),
        Triple(n("a"), NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), n("C")),
        Triple(n("a"), n("label"), Literal("A", language="en")),
    ]
    doc = jsonld.to_jsonld(canonical(triples), {"ex": "http://example.org/", "xsd": XSD})
    a = doc["@graph"][0]
    assert a["@id"] == "ex:a" and a["@type"] == "ex:C"
    assert a["ex:p"] == {"ex:q": {"@value": "2018", "@type": "xsd:gYear"}}  # lexical form kept
    assert a["ex:label"] == {"@value": "A", "@language": "en"}
    assert a["ex:r"]["@id"].startswith("_:")  # shared: referenced, not embedded
    assert any(node["@id"] == a["ex:r"]["@id"] and node["ex:q"] == "x" for node in doc["@graph"])
    parsed = set(pyoxigraph.parse(jsonld.dumps(doc), format=RdfFormat.JSON_LD))
    assert len(parsed) == len(triples)


def test_jsonld_writer_never_writes_an_ambiguous_compact_iri():
    compact = jsonld.Compactor({"ex": "http://example.org/", "exa": "http://example.org/a/"})
    assert compact("http://example.org/a/b") == "exa:b"  # longest namespace wins
    assert compact("http://example.org/") == "http://example.org/"  # empty local part
    assert compact("http://example.org///x") == "http://example.org///x"  # 'ex://x' would read as an IRI


def test_jsonld_writer_keeps_a_cycle_of_blank_nodes():
    b1, b2 = BlankNode("x1"), BlankNode("x2")
    triples = [Triple(b1, n("p"), b2), Triple(b2, n("p"), b1)]
    doc = jsonld.to_jsonld(triples, {"ex": "http://example.org/"})
    parsed = list(pyoxigraph.parse(jsonld.dumps(doc), format=RdfFormat.JSON_LD))
    assert len(parsed) == 2


# ------------------------------------------------------- per-IRI documents
def test_entity_description_has_its_blank_nodes_and_the_labels_of_links(project):
    data = read_triples(project)
    docs = documents(project, data)
    assert {"id/gfmd.ttl", "id/gfmd.jsonld", "def/Forum.ttl", "def.ttl", "dataset.ttl", "dataset.jsonld"} <= set(docs)
    g = rdflib.Graph().parse(data=docs["id/gfmd.ttl"].decode(), format="turtle")
    cd, cdi = rdflib.Namespace(project.def_ns), rdflib.Namespace(project.id_ns)
    skos = rdflib.namespace.SKOS
    option = g.value(cdi.gfmd, cd.hasAccessOption)
    assert g.value(option, cd.via) == cdi["mayors-mechanism"]  # blank-node closure
    assert (cdi["mayors-mechanism"], skos.prefLabel, rdflib.Literal("Mayors Mechanism", lang="en")) in g
    assert not list(g.objects(cdi["mayors-mechanism"], cd.initiatedBy))  # only labels of linked entities
    gfmd = NamedNode(project.id_ns + "gfmd")
    expected = canonical(describe([gfmd], by_subject(data)) + incoming(gfmd, by_subject(data), by_object(data)))
    assert isomorphic(g, rdflib.Graph().parse(data=pyoxigraph.serialize(expected, format=RdfFormat.N_TRIPLES)))
    j = rdflib.Graph().parse(data=docs["id/gfmd.jsonld"].decode(), format="json-ld")
    assert isomorphic(g, j)
    ontology = rdflib.Graph().parse(data=docs["def.ttl"].decode(), format="turtle")
    assert (rdflib.URIRef(project.ontology_iri), rdflib.RDF.type, rdflib.OWL.Ontology) in ontology
    assert (cd.Forum, rdflib.RDF.type, rdflib.OWL.Class) in ontology


def test_site_files_are_written_again_only_for_resources_whose_triples_changed(project, tmp_path, monkeypatch):
    """write_site_files keeps a digest per resource (publish.MANIFEST): an unchanged resource is not
    serialised again, a changed label rewrites the files of the resources that show it, a missing file
    or a changed package comes back; the result equals writing everything afresh."""
    from citydiplo.graph.export import content_files
    from citydiplo.site import publish

    site = tmp_path / "site"
    first = publish.write_site_files(project, site)
    assert first.written and (site / publish.MANIFEST).is_file()
    made = publish.published
    monkeypatch.setattr(publish, "published", lambda *a: pytest.fail("vocab/ unchanged: nothing to parse"))
    again = publish.write_site_files(project, site)
    assert again.written == [] and set(again.unchanged) >= set(first.written) - set(site.glob("dist/**/*"))
    assert again.dump.files == first.dump.files and again.dump.triples == first.dump.triples
    monkeypatch.setattr(publish, "published", made)
    # a label changes: the files of the entry and of the entries that show its label, and no others
    path = next(f for f in content_files(project) if '"Mayors Mechanism"@en' in f.read_text(encoding="utf-8"))
    path.write_text(path.read_text(encoding="utf-8").replace('"Mayors Mechanism"@en', '"Mayors Forum"@en'), "utf-8")
    edited = publish.write_site_files(project, site)
    names = {p.relative_to(site).as_posix().rsplit(".", 1)[0] for p in edited.written if "dist" not in p.parts}
    assert "id/mayors-mechanism" in names and "id/gfmd" in names  # gfmd links it: its file carries the label
    shown = {
        n
        for n, triples in publish.resource_groups(project, read_triples(project)).items()
        if any('"Mayors Forum"@en' in str(t) for t in triples)
    }
    assert names - {"dataset"} == shown  # the dataset file: the checksums of the CSV tables changed
    assert "Mayors Forum" in (site / "dist" / "citydiplo.ttl").read_text(encoding="utf-8")
    # a file deleted by hand is written again
    (site / "id" / "gfmd.jsonld").unlink()
    assert site / "id" / "gfmd.jsonld" in publish.write_site_files(project, site).written
    # the same bytes as writing everything into an empty folder
    fresh = tmp_path / "fresh"
    publish.write_site_files(project, fresh)
    for file in sorted(p for p in fresh.rglob("*") if p.is_file() and p.name != publish.MANIFEST):
        assert (site / file.relative_to(fresh)).read_bytes() == file.read_bytes(), file


def test_built_site_links_and_embeds_the_data(site):
    project, out = site
    page = (out / "id/gfmd.html").read_text()
    assert '<link rel="alternate" type="text/turtle" href="gfmd.ttl">' in page
    assert '<link rel="alternate" type="application/ld+json" href="gfmd.jsonld">' in page
    assert '<a href="gfmd.ttl" type="text/turtle">Turtle</a>' in page
    assert '<a href="gfmd.jsonld" type="application/ld+json">JSON-LD</a>' in page
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    data = json.loads(match.group(1))
    assert data["@context"] == {"@vocab": "https://schema.org/"}  # the dump's schema.org namespace
    assert data["@type"] == "EventSeries" and data["@id"] == project.id_ns + "gfmd"
    assert data["name"] == "Global Forum on Migration and Development"
    assert data["alternateName"] == ["GFMD"]
    iom = json.loads(re.search(r'ld\+json">(.*?)</script>', (out / "id/iom.html").read_text(), re.S).group(1))
    assert iom["@type"] == "Organization"
    for slug in ("gfmd", "iom", "mayors-mechanism", "role-co-lead"):
        assert (out / f"id/{slug}.ttl").is_file() and (out / f"id/{slug}.jsonld").is_file()
    assert (out / "def/Forum.ttl").is_file() and (out / "def/Forum.jsonld").is_file()
    assert '<link rel="alternate" type="text/turtle" href="Forum.ttl">' in (out / "def/Forum.html").read_text()
    assert (out / "dataset.ttl").is_file() and (out / "def.ttl").is_file()
    # the dump ships with the site, identical to `citydiplo export`
    assert (out / "dist/SHA256SUMS").read_bytes() == (project.build_dir / "dist/SHA256SUMS").read_bytes()


def test_german_build_embeds_german_schema_org(site):
    project, _ = site
    out = build_site(project, jobs=1, status=io.StringIO(), language="de")
    page = (out / "id/gfmd.html").read_text()
    data = json.loads(re.search(r'ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["name"] == "Globales Forum für Migration und Entwicklung"
    assert "Dieser Eintrag als Daten" in page and (out / "id/gfmd.ttl").is_file()


def test_schema_org_script_cannot_close_its_element():
    from citydiplo.site.publish import script_json

    text = script_json({"name": "</script><script>alert(1)</script> & more"})
    assert "</" not in text and "<" not in text and json.loads(text)["name"].startswith("</script>")


# ------------------------------------------------------------ real engines
def oxigraph_binary() -> str:
    local = Path(sys.executable).parent / "oxigraph"
    if local.is_file():
        return str(local)
    return require_tool("oxigraph", "the Oxigraph server, from the PyPI package `oxigraph` (test extras)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}: {process.stderr.read()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


class OxigraphServer:
    """``oxigraph serve`` (in memory) on a loopback port, stopped on exit."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{self.port}"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(self.url + "/query?query=ASK%7B%7D", self.process)

    def put(self, path: Path, media: str) -> int:
        request = urllib.request.Request(
            self.url + "/store?default", data=path.read_bytes(), method="PUT", headers={"Content-Type": media}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    def select(self, query: str) -> dict:
        request = urllib.request.Request(
            self.url + "/query",
            data=urllib.parse.urlencode({"query": query}).encode(),
            headers={"Accept": "application/sparql-results+json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def binding_text(binding: dict | None) -> str:
    if binding is None:
        return ""
    return ("_:" if binding["type"] == "bnode" else "") + binding["value"]


def compare_queries_over_http(project, tmp_path) -> int:
    """Load the Turtle dump into `oxigraph serve` over HTTP and run every query there."""
    export(project)
    server = OxigraphServer(tmp_path)
    try:
        assert server.put(project.build_dir / "dist/citydiplo.ttl", "text/turtle") in (200, 201, 204)
        count = server.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")["results"]["bindings"][0]["n"]["value"]
        assert int(count) == len(set(pyoxigraph.parse(path=str(project.build_dir / "dist/citydiplo.nt"))))
        store = make_store(project)
        queries = load_queries(project)
        assert queries, "no queries to compare"
        for query in queries:
            variables, rows = run_query(project, query.text, store=store)
            answer = server.select(query.text)
            assert answer["head"]["vars"] == variables, query.name
            remote = [[binding_text(b.get(v)) for v in variables] for b in answer["results"]["bindings"]]
            local = [[term_text(t) if not isinstance(t, BlankNode) else f"_:{t.value}" for t in r] for r in rows]
            if "ORDER BY" in query.text.upper():
                assert remote == local, query.name
            else:
                assert sorted(remote) == sorted(local), query.name
            expected = query.path.with_suffix(".csv")
            if expected.is_file():
                rows_expected = list(csv.reader(io.StringIO(expected.read_text(encoding="utf-8"))))
                assert [variables, *remote] == rows_expected, query.name
        return len(queries)
    finally:
        server.close()


def test_oxigraph_server_answers_every_query_like_the_embedded_engine(project, tmp_path):
    assert compare_queries_over_http(project, tmp_path) >= 1


@pytest.mark.slow
def test_oxigraph_server_answers_the_real_queries(real_project, tmp_path):
    copy = make_project(tmp_path / "repo")  # the real vocab in a temporary build dir
    import shutil

    shutil.rmtree(copy.vocab_dir)
    shutil.copytree(real_project.vocab_dir, copy.vocab_dir)
    from citydiplo.graph.load import load

    if errors(validate(load(copy))):
        pytest.skip("the real graph does not validate yet")
    assert compare_queries_over_http(copy, tmp_path) >= 10


# Jena riot from Debian (libapache-jena-java), run with `java -cp`: Debian
# ships no `riot` script, and its jena-core.jar needs its relocated Xerces
# resources copied to the relocated package name (see
# /work/shared/research/rdf-toolchain-baselines.md §6.4).
JENA_PACKAGE = "libapache-jena-java"
JAR_EXCLUDE = re.compile(r"log4j|slf4j-(nop|log4j|jdk|jcl|reload|migrator|ext)|jcl-over|jul-to|osgi")


def installed_closure(package: str) -> list[str]:
    seen, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}\t${Depends}, ${Pre-Depends}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not done.stdout.startswith("installed"):
            continue
        seen.add(name)
        for alternatives in done.stdout.split("\t", 1)[1].split(","):
            for alternative in alternatives.split("|"):
                dep = alternative.strip().split(" ")[0].split(":")[0]
                if dep:
                    todo.append(dep)
    return sorted(seen)


@pytest.fixture(scope="module")
def riot(tmp_path_factory):
    """A command prefix that runs Jena's riot, or a skip (a failure under CI)."""
    java = require_tool("java", "Jena riot runs on Java; CI installs default-jre-headless")
    if not Path("/usr/share/java/jena-cmds.jar").is_file():
        message = f"{JENA_PACKAGE} is not installed (Jena riot); CI installs it from .ci/apt-packages.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    jars = []
    for package in installed_closure(JENA_PACKAGE):
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
        jars += [line for line in listing.splitlines() if re.fullmatch(r"/usr/share/java/[^/]+\.jar", line)]
    jars = sorted({j for j in jars if not JAR_EXCLUDE.search(Path(j).name)})
    fix = tmp_path_factory.mktemp("jena") / "jena-xerces-resources-fix.jar"
    prefix = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile("/usr/share/java/jena-core.jar") as src, zipfile.ZipFile(fix, "w") as out:
        for name in src.namelist():
            if name.startswith(prefix) and not name.endswith((".class", "/")):
                out.writestr("xerces/" + name[len(prefix) :], src.read(name))
    return [java, "-cp", ":".join([*jars, str(fix)]), "riotcmd.riot"]


def run_riot(riot, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*riot, *map(str, args)], capture_output=True, text=True, check=False, timeout=300)


def test_riot_reads_every_dump_file_without_a_warning(site, riot):
    project, out = site
    dist = project.build_dir / "dist"
    total = len(set(pyoxigraph.parse(path=str(dist / "citydiplo.nt"))))
    rdf = [dist / "citydiplo.ttl", dist / "citydiplo.nt", out / "id/gfmd.ttl", out / "dataset.ttl", out / "def.ttl"]
    done = run_riot(riot, "--count", *rdf)
    assert done.returncode == 0 and "WARN" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    report = done.stdout + done.stderr  # riot writes its counts to stderr
    assert f"citydiplo.ttl : Triples = {total:,}" in report  # riot writes 1,059
    assert f"citydiplo.nt : Triples = {total:,}" in report
    # JSON-LD: Debian's JSON-LD 1.1 reader cannot load documents; the 1.0 one can
    done = run_riot(riot, "--syntax=jsonld10", "--output=nt", dist / "citydiplo.jsonld")
    assert done.returncode == 0 and "WARN" not in done.stderr, done.stderr
    assert isomorphic(rdflib.Graph().parse(data=done.stdout, format="nt"), graph_of(dist / "citydiplo.ttl", "turtle"))
    done = run_riot(riot, "--syntax=jsonld10", "--count", out / "id/gfmd.jsonld", out / "dataset.jsonld")
    assert done.returncode == 0 and "WARN" not in done.stderr, done.stderr


def test_riot_reports_a_broken_file(riot, tmp_path):
    """The check is real: a bad IRI fails with its line."""
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://example.org/a> <http://example.org/b> <not an iri> .\n")
    done = run_riot(riot, "--validate", bad)
    assert done.returncode != 0 and "line: 1" in done.stderr


def assert_oxigraph_converts(dist, tmp_path, total: int) -> None:
    """The Oxigraph CLI reads each RDF dump file and finds ``total`` distinct triples."""
    for name in ("citydiplo.ttl", "citydiplo.nt", "citydiplo.jsonld"):
        target = tmp_path / (name + ".nq")
        done = subprocess.run(
            [oxigraph_binary(), "convert", "--from-file", str(dist / name), "--to-file", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert len(set(target.read_text().splitlines())) == total, name


def test_oxigraph_cli_converts_every_dump_file(site, tmp_path):
    project, _ = site
    dist = project.build_dir / "dist"
    total = len(set(pyoxigraph.parse(path=str(dist / "citydiplo.nt"))))
    assert_oxigraph_converts(dist, tmp_path, total)


def test_dump_prefixes_are_the_project_prefixes(project):
    text = (export(project).directory / "citydiplo.ttl").read_text()
    for prefix, ns in prefixes(project).items():
        if f"{prefix}:" in text:
            assert f"@prefix {prefix}: <{ns}> ." in text


def test_data_section_shows_the_query_as_it_is_in_the_repository(real_project):
    """handbook/data/queries.md quotes one query; it must not drift from the file."""
    page = (real_project.handbook_dir / "data/queries.md").read_text(encoding="utf-8")
    quoted = re.search(r"```sparql\n(.*?)```", page, re.S).group(1)
    query = (real_project.vocab_dir / "queries/co-leads-of-mayors-mechanism.rq").read_text(encoding="utf-8")
    assert query.rstrip().endswith(quoted.rstrip()), "update the query shown in handbook/data/queries.md"
    assert "```{query} co-leads-of-mayors-mechanism" in page


def documents_digest(project, seed: int) -> str:
    code = (
        "import hashlib, sys\n"
        "from citydiplo.config import load_project\n"
        "from citydiplo.graph.export import read_triples\n"
        "from citydiplo.site.publish import documents\n"
        "p = load_project(sys.argv[1])\n"
        "h = hashlib.sha256()\n"
        "for name, data in sorted(documents(p, read_triples(p)).items()):\n"
        "    h.update(name.encode() + b'\\0' + data)\n"
        "print(h.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(project.root)], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_per_iri_files_are_byte_identical_across_runs(project):
    assert documents_digest(project, 1) == documents_digest(project, 2)


@pytest.mark.slow
def test_independent_parsers_read_the_real_dump(real_project, riot, tmp_path):
    """Jena riot and the Oxigraph CLI read every RDF file of the real dump,
    with the same number of triples as pyoxigraph."""
    project = dataclasses.replace(real_project, build_dir=tmp_path / "build")
    dist = export(project).directory
    total = len(set(pyoxigraph.parse(path=str(dist / "citydiplo.nt"))))
    assert total > 5000
    done = run_riot(riot, "--count", dist / "citydiplo.ttl", dist / "citydiplo.nt")
    assert done.returncode == 0 and "WARN" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    report = done.stdout + done.stderr
    assert f"citydiplo.ttl : Triples = {total:,}" in report
    assert f"citydiplo.nt : Triples = {total:,}" in report
    done = run_riot(riot, "--syntax=jsonld10", "--count", dist / "citydiplo.jsonld")
    assert done.returncode == 0 and "WARN" not in done.stderr, done.stderr
    assert f"Triples = {total:,}" in done.stdout + done.stderr
    assert_oxigraph_converts(dist, tmp_path, total)


def test_the_files_are_read_once_for_the_release_notes_and_the_published_graph(project, monkeypatch):
    """A build compiles the release notes (the data against the last release)
    at its start and makes the published graph later: the files are parsed once."""
    from citydiplo.graph import export

    monkeypatch.setattr(export, "_LAST_DATA", [])
    monkeypatch.setattr(export, "_LAST_PUBLISHED", [])
    reads = []
    real = export.read_triples
    monkeypatch.setattr(export, "read_triples", lambda *args: reads.append(1) or real(*args))
    data = export.published_data(project)
    assert export.published(project).data is data
    assert len(reads) == 1
    path = project.vocab_dir / "data" / "late.ttl"
    path.write_text(
        f'<{project.id_ns}late> <http://www.w3.org/2004/02/skos/core#prefLabel> "Late"@en .\n',
        encoding="utf-8",
    )
    again = export.published_data(project)
    assert len(reads) == 2 and again is not data  # a changed file is read again
    assert any(t.subject.value == project.id_ns + "late" for t in again)
