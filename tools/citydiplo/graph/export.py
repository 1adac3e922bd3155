"""The data dump: ontology + concepts + data + a VoID/DCAT description.

``build/dist/`` holds the same graph as Turtle (``citydiplo.ttl``),
N-Triples (``citydiplo.nt``) and compacted JSON-LD (``citydiplo.jsonld``),
one CSV table per kind of entity (``csv/<kind>.csv``, see :data:`CSV_COLUMNS`)
plus ``csv/concepts.csv``, and ``SHA256SUMS`` over every other file.

Deterministic by construction: every file is parsed with ``pyoxigraph.parse``
(which keeps lexical forms, unlike a Store), blank nodes are relabelled by
RDFC-1.0 canonicalisation, triples are sorted, and the modification date is
taken from the data (the latest ``cd:lastChecked``), not from the clock.
Output is written to a temporary folder and swapped in whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import rdflib
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

from ..config import Project
from ..files import replace_dir
from . import jsonld
from .query import content_files
from .views import KINDS, GraphView

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

#: The RDF serialisations of the dump: suffix, pyoxigraph format, media type.
RDF_FILES = (
    ("ttl", RdfFormat.TURTLE, "text/turtle"),
    ("nt", RdfFormat.N_TRIPLES, "application/n-triples"),
    ("jsonld", RdfFormat.JSON_LD, "application/ld+json"),
)

#: Columns of the CSV tables, one table per kind of entity. Several values in
#: one cell are separated by "; ". Linked things (country, region) are given
#: by their English label; ``type`` is the most specific class as a compact
#: IRI (``cd:Forum``). Dates keep the precision of the source (a year, a
#: month or a day).
CSV_COLUMNS = (
    "iri",
    "slug",
    "label_en",
    "label_de",
    "alt_labels",
    "definition_en",
    "definition_de",
    "type",
    "country",
    "region",
    "founding_date",
    "start_date",
    "end_date",
    "issued",
    "date",
    "homepage",
    "same_as",
    "sources",
    "last_checked",
    "valid_until",
    "deprecated",
)
CONCEPT_COLUMNS = (
    "iri",
    "slug",
    "scheme",
    "label_en",
    "label_de",
    "alt_labels",
    "definition_en",
    "definition_de",
    "broader",
)
CSV_DIR = "csv"
CSV_SEPARATOR = "; "


class ExportError(Exception):
    """The dump cannot be written (a source file does not parse)."""


@dataclass
class ExportResult:
    directory: Path
    #: the dataset's triples (its ``void:triples``): ontology, concept schemes and data
    triples: int
    files: list[Path] = field(default_factory=list)
    #: the triples in each RDF file: the dataset's plus its VoID/DCAT description
    in_files: int = 0


def prefixes(project: Project) -> dict[str, str]:
    return {"cd": project.def_ns, "cdi": project.id_ns, **NS}


def dataset_iri(project: Project) -> str:
    return project.base_iri + "dataset"


def dump_url(project: Project, suffix: str) -> str:
    return f"{project.base_iri}dist/{DUMP_NAME}.{suffix}"


def csv_names() -> list[str]:
    """The CSV tables, as paths below ``dist/``, in a fixed order."""
    return [f"{CSV_DIR}/{kind.key}.csv" for kind in KINDS] + [f"{CSV_DIR}/concepts.csv"]


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
    titles = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD"}
    for suffix, _, media in RDF_FILES:
        dist = NamedNode(dump_url(project, suffix))
        out += [
            Triple(ds, void("dataDump"), dist),
            Triple(ds, dcat("distribution"), dist),
            Triple(dist, rdf("type"), dcat("Distribution")),
            Triple(dist, dcterms("title"), Literal(f"The whole graph ({titles[suffix]})", language="en")),
            Triple(dist, dcat("downloadURL"), dist),
            Triple(dist, dcat("mediaType"), Literal(media)),
            Triple(dist, dcterms("license"), NamedNode(project.licence)),
        ]
    titles = {kind.key: kind.title["en"] for kind in KINDS} | {"concepts": "Concepts of the concept schemes"}
    for name in csv_names():
        dist = NamedNode(f"{project.base_iri}dist/{name}")
        key = name.rsplit("/", 1)[-1].removesuffix(".csv")
        out += [
            Triple(ds, dcat("distribution"), dist),
            Triple(dist, rdf("type"), dcat("Distribution")),
            Triple(dist, dcterms("title"), Literal(f"{titles[key]} (CSV table)", language="en")),
            Triple(dist, dcat("downloadURL"), dist),
            Triple(dist, dcat("mediaType"), Literal("text/csv")),
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


def to_rdflib(triples: list[Triple]) -> rdflib.Graph:
    """The same triples as an rdflib graph (for :class:`GraphView`), lexical forms kept."""

    def term(t):
        if isinstance(t, NamedNode):
            return rdflib.URIRef(t.value)
        if isinstance(t, pyoxigraph.BlankNode):
            return rdflib.BNode(t.value)
        if t.language:
            return rdflib.Literal(t.value, lang=t.language)
        return rdflib.Literal(t.value, datatype=rdflib.URIRef(t.datatype.value), normalize=False)

    graph = rdflib.Graph()
    for t in triples:
        graph.add((term(t.subject), term(t.predicate), term(t.object)))
    return graph


def used_prefixes(project: Project, triples: list[Triple]) -> dict[str, str]:
    """The project prefixes that some IRI in ``triples`` starts with (one pass)."""
    known = prefixes(project)
    remaining = set(known.values())
    candidates = tuple(remaining)
    found = set()
    seen = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object, getattr(t.object, "datatype", None)):
            if not isinstance(term, NamedNode):
                continue
            iri = term.value
            if iri in seen:
                continue
            seen.add(iri)
            if iri.startswith(candidates):
                hits = {ns for ns in candidates if iri.startswith(ns)}
                found |= hits
                remaining -= hits
                if not remaining:
                    return dict(known)
                candidates = tuple(remaining)
    return {p: ns for p, ns in known.items() if ns in found}


#: the last (triples, prefixes) pair: each list is serialised in three formats in a row
_last_used: list = [None, None, None]


def _used_once(project: Project, triples: list[Triple]) -> dict[str, str]:
    if _last_used[0] is not triples or _last_used[1] != (project.id_ns, project.def_ns, len(triples)):
        _last_used[:] = [triples, (project.id_ns, project.def_ns, len(triples)), used_prefixes(project, triples)]
    return _last_used[2]


def rdf_text(project: Project, triples: list[Triple], suffix: str) -> bytes:
    """One serialisation of (canonical, sorted) triples, declaring the prefixes it uses."""
    if suffix == "jsonld":
        return jsonld.dumps(jsonld.to_jsonld(triples, _used_once(project, triples))).encode("utf-8")
    fmt = {s: f for s, f, _ in RDF_FILES}[suffix]
    kwargs = {"prefixes": dict(sorted(_used_once(project, triples).items()))} if fmt == RdfFormat.TURTLE else {}
    return pyoxigraph.serialize(triples, format=fmt, **kwargs)


def _csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def tables(project: Project, graph: rdflib.Graph) -> dict[str, str]:
    """The CSV tables: ``{path below dist/: text}``, rows sorted by IRI."""
    from rdflib.namespace import DCTERMS, FOAF, OWL, SKOS

    view = GraphView(graph, project, "en")
    cd, schema = rdflib.Namespace(project.def_ns), rdflib.Namespace(NS["schema"])
    compact = jsonld.Compactor(prefixes(project))

    def cell(values) -> str:
        return CSV_SEPARATOR.join(sorted({str(v) for v in values}))

    def texts(node, prop, lang) -> str:
        return cell(v for v in graph.objects(node, prop) if isinstance(v, rdflib.Literal) and v.language == lang)

    def labels(node, prop) -> str:
        return cell(view.label(v, "en") for v in graph.objects(node, prop))

    def values(node, prop) -> str:
        return cell(graph.objects(node, prop))

    rows: dict[str, list] = {kind.key: [] for kind in KINDS}
    for node in view.entities:
        kind = view.kind(node)
        if kind is None:
            continue
        cls = view.main_class(node)
        rows[kind.key].append(
            [
                str(node),
                view.slug(node),
                texts(node, SKOS.prefLabel, "en"),
                texts(node, SKOS.prefLabel, "de"),
                cell(graph.objects(node, SKOS.altLabel)),
                texts(node, SKOS.definition, "en"),
                texts(node, SKOS.definition, "de"),
                compact(str(cls)) if cls is not None else "",
                labels(node, cd.country),
                labels(node, cd.region),
                values(node, schema.foundingDate),
                values(node, schema.startDate),
                values(node, schema.endDate),
                values(node, DCTERMS.issued),
                values(node, DCTERMS.date),
                values(node, FOAF.homepage),
                values(node, OWL.sameAs),
                values(node, DCTERMS.source),
                values(node, cd.lastChecked),
                values(node, cd.validUntil),
                "true" if view.is_deprecated(node) else "false",
            ]
        )
    out = {f"{CSV_DIR}/{key}.csv": _csv(CSV_COLUMNS, table) for key, table in rows.items()}
    concepts = []
    for scheme in view.schemes:
        for node in view.concepts(scheme):
            concepts.append(
                [
                    str(node),
                    view.slug(node),
                    view.slug(scheme),
                    texts(node, SKOS.prefLabel, "en"),
                    texts(node, SKOS.prefLabel, "de"),
                    cell(graph.objects(node, SKOS.altLabel)),
                    texts(node, SKOS.definition, "en"),
                    texts(node, SKOS.definition, "de"),
                    labels(node, SKOS.broader),
                ]
            )
    concepts.sort(key=lambda row: (row[2], row[0]))
    out[f"{CSV_DIR}/concepts.csv"] = _csv(CONCEPT_COLUMNS, concepts)
    return out


def checksums(folder: Path, names: list[str]) -> str:
    """``sha256sum`` format, in the order given; check with ``sha256sum -c SHA256SUMS``."""
    return "".join(f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n" for name in names)


def write_dump(project: Project, folder: Path, data: list[Triple]) -> list[str]:
    """Write every dump file into ``folder`` (which exists); returns their names."""
    triples = canonical(data + description(project, data))
    files = []
    for suffix, _, _ in RDF_FILES:
        name = f"{DUMP_NAME}.{suffix}"
        (folder / name).write_bytes(rdf_text(project, triples, suffix))
        files.append(name)
    for name, text in tables(project, to_rdflib(data)).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        files.append(name)
    (folder / "SHA256SUMS").write_text(checksums(folder, files), encoding="utf-8")
    return [*files, "SHA256SUMS"]


def export(project: Project, out: Path | None = None, data: list[Triple] | None = None) -> ExportResult:
    """Write the dump (RDF, CSV, ``SHA256SUMS``) into ``out`` (default ``build/dist``), atomically."""
    target = out or project.build_dir / "dist"
    data = read_triples(project) if data is None else data
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = write_dump(project, tmp, data)
    in_files = len(set(data + description(project, data)))
    replace_dir(tmp, target)
    return ExportResult(directory=target, triples=len(set(data)), files=[target / f for f in files], in_files=in_files)
