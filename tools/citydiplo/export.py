"""The data dump: ontology + concepts + data + a VoID/DCAT description.

Deterministic by construction: every file is parsed with ``pyoxigraph.parse``
(which keeps lexical forms, unlike a Store), blank nodes are relabelled by
RDFC-1.0 canonicalisation, triples are sorted, and the modification date is
taken from the data (the latest ``cd:lastChecked``), not from the clock.
Output is written to a temporary folder and swapped in whole.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import (
    CanonicalizationAlgorithm,
    Dataset,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
)

from .config import Project
from .query import content_files

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "org": "http://www.w3.org/ns/org#",
    "schema": "https://schema.org/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vann": "http://purl.org/vocab/vann/",
}
DUMP_NAME = "citydiplo"


class ExportError(Exception):
    """The dump cannot be written (a source file does not parse)."""


@dataclass
class ExportResult:
    directory: Path
    triples: int
    files: list[Path] = field(default_factory=list)


def prefixes(project: Project) -> dict[str, str]:
    return {"cd": project.def_ns, "cdi": project.id_ns, **NS}


def dataset_iri(project: Project) -> str:
    return project.base_iri + "dataset"


def dump_url(project: Project, suffix: str) -> str:
    return f"{project.base_iri}dist/{DUMP_NAME}.{suffix}"


def read_triples(project: Project, files: list[Path] | None = None) -> list[Triple]:
    """The triples of the published graph, lexical forms as written."""
    triples = []
    for path in files if files is not None else content_files(project):
        try:
            for quad in pyoxigraph.parse(path=str(path), format=RdfFormat.TURTLE, base_iri=project.base_iri):
                triples.append(quad.triple)
        except SyntaxError as exc:
            raise ExportError(f"{project.rel(path)}: {exc} (run `citydiplo validate`)") from None
    return triples


def description(project: Project, triples: list[Triple]) -> list[Triple]:
    """VoID/DCAT description of the dump: licence, version, date, size, downloads."""
    ns = {k: (lambda local, base=v: NamedNode(base + local)) for k, v in NS.items()}
    rdf, dcterms, dcat, void, owl, xsd = (ns[k] for k in ("rdf", "dcterms", "dcat", "void", "owl", "xsd"))
    data_iris = {t.subject for t in triples}
    checked = sorted(t.object.value for t in triples if t.predicate == NamedNode(project.def_ns + "lastChecked"))
    modified = checked[-1] if checked else "1970-01-01"
    ds = NamedNode(dataset_iri(project))
    out = [
        Triple(ds, rdf("type"), void("Dataset")),
        Triple(ds, rdf("type"), dcat("Dataset")),
        Triple(ds, dcterms("title"), Literal(project.name, language="en")),
        Triple(ds, dcterms("title"), Literal("Städtediplomatie in der Migrationspolitik: ein Handbuch", language="de")),
        Triple(
            ds,
            dcterms("description"),
            Literal(
                "Actors, forums, frameworks, processes, meetings, documents, pledges and access routes of city "
                "diplomacy in global migration governance, with the ontology and concept schemes that describe them.",
                language="en",
            ),
        ),
        Triple(ds, dcterms("license"), NamedNode(project.licence)),
        Triple(ds, dcterms("modified"), Literal(modified, datatype=xsd("date"))),
        Triple(ds, owl("versionInfo"), Literal(project.version)),
        Triple(ds, void("triples"), Literal(str(len(set(triples))), datatype=xsd("integer"))),
        Triple(ds, void("entities"), Literal(str(len(data_iris)), datatype=xsd("integer"))),
        Triple(ds, void("uriSpace"), Literal(project.id_ns)),
        Triple(ds, void("vocabulary"), NamedNode(project.def_ns)),
        Triple(ds, void("sparqlEndpoint"), NamedNode(project.base_iri + "sparql")),
    ]
    if project.publisher:
        out.append(Triple(ds, dcterms("publisher"), Literal(project.publisher)))
    for suffix, media in (("ttl", "text/turtle"), ("nt", "application/n-triples")):
        dist = NamedNode(dump_url(project, suffix))
        out += [
            Triple(ds, void("dataDump"), dist),
            Triple(ds, dcat("distribution"), dist),
            Triple(dist, rdf("type"), dcat("Distribution")),
            Triple(dist, dcat("downloadURL"), dist),
            Triple(dist, dcat("mediaType"), Literal(media)),
            Triple(dist, dcterms("license"), NamedNode(project.licence)),
        ]
    return out


def canonical(triples: list[Triple]) -> list[Triple]:
    """Relabel blank nodes with RDFC-1.0 and sort: the same graph, the same bytes."""
    dataset = Dataset(Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in set(triples))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    result = [q.triple for q in dataset]
    return sorted(result, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def dump_graph(project: Project, files: list[Path] | None = None) -> list[Triple]:
    """Data triples plus their description, canonicalised and sorted."""
    triples = read_triples(project, files)
    return canonical(triples + description(project, triples))


def export(project: Project, out: Path | None = None) -> ExportResult:
    """Write ``citydiplo.ttl``, ``citydiplo.nt`` and ``SHA256SUMS`` atomically."""
    target = out or project.build_dir / "dist"
    data = read_triples(project)
    triples = canonical(data + description(project, data))
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = []
    for suffix, fmt, kwargs in (
        ("ttl", RdfFormat.TURTLE, {"prefixes": prefixes(project)}),
        ("nt", RdfFormat.N_TRIPLES, {}),
    ):
        path = tmp / f"{DUMP_NAME}.{suffix}"
        pyoxigraph.serialize(triples, str(path), fmt, **kwargs)
        files.append(path.name)
    sums = "".join(f"{hashlib.sha256((tmp / name).read_bytes()).hexdigest()}  {name}\n" for name in files)
    (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
    files.append("SHA256SUMS")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return ExportResult(directory=target, triples=len(set(data)), files=[target / f for f in files])
