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
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import rdflib
from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
)

from ..config import LANGUAGE_CODES, Project
from ..escape import csv_cell
from ..files import replace_dir
from ..paths import output_path
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
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "spdx": "http://spdx.org/rdf/terms#",
    "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
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
#: month or a day). ``same_as`` holds the GeoNames and Wikidata IRIs,
#: ``codes`` the ISO 3166-1 / UN M49 codes (``skos:notation``), ``latitude``
#: and ``longitude`` a city's WGS 84 coordinates.
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
    # links out (added at the end, as the data pages promise)
    "codes",
    "latitude",
    "longitude",
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
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportError(f"{project.rel(path)}:1: cannot be read: {exc} (run `citydiplo validate`)") from None
    return triples + derived(triples)


ORG = "http://www.w3.org/ns/org#"
ENDED = ("https://schema.org/endDate", ORG + "memberDuring")


def derived(triples: list[Triple]) -> list[Triple]:
    """Triples the published graph states although no file writes them
    (vocab/README.md, "Derived at export"):

    - ``org:memberOf`` for every qualified ``org:Membership`` that has not
      ended (no ``schema:endDate``, no ``org:memberDuring``), as W3C ORG
      reads ``org:hasMembership/org:organization``: plain membership is one
      pattern, whether it was written plainly or with a role;
    - the reverse of every link by a symmetric property
      (``owl:SymmetricProperty`` in the ontology, e.g. ``cd:partner``), so a
      query need not ask both ways.
    """
    rdf_type = NamedNode(NS["rdf"] + "type")
    symmetric = {
        t.subject for t in triples if t.predicate == rdf_type and t.object == NamedNode(NS["owl"] + "SymmetricProperty")
    }
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    have = set(triples)
    out: list[Triple] = []
    member_of = NamedNode(ORG + "memberOf")
    for t in triples:
        if t.predicate.value == ORG + "hasMembership" and isinstance(t.object, pyoxigraph.BlankNode):
            inner = by_subject.get(t.object, [])
            if any(i.predicate.value in ENDED for i in inner):
                continue
            for i in inner:
                if i.predicate.value == ORG + "organization" and isinstance(i.object, NamedNode):
                    out.append(Triple(t.subject, member_of, i.object))
        elif t.predicate in symmetric and isinstance(t.object, NamedNode):
            out.append(Triple(t.object, t.predicate, t.subject))
    return sorted({d for d in out if d not in have}, key=lambda d: (d.subject.value, d.predicate.value, d.object.value))


#: Media types of the distributions, as IANA IRIs (DCAT-AP wants an IRI).
IANA = "http://www.iana.org/assignments/media-types/"
CSV_MEDIA = "text/csv"
#: The SPARQL endpoint's answer format, for its distribution.
SPARQL_MEDIA = "application/sparql-results+json"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
#: Data themes of the EU Publications Office (DCAT-AP's theme vocabulary).
THEMES = {
    "http://publications.europa.eu/resource/authority/data-theme/SOCI": "Population and society",
    "http://publications.europa.eu/resource/authority/data-theme/GOVE": "Government and public sector",
    "http://publications.europa.eu/resource/authority/data-theme/INTR": "International issues",
}
THEME_SCHEME = "http://publications.europa.eu/resource/authority/data-theme"
#: The EU Publications Office language authority (as DCAT-AP has it).
LANGUAGE_AUTHORITY = "http://publications.europa.eu/resource/authority/language/"
#: The whole Earth (GeoNames), the dataset's spatial coverage.
EARTH = "https://sws.geonames.org/6295630/"
KEYWORDS = {
    "en": ("city diplomacy", "migration", "refugees", "local government", "GFMD", "IMRF", "Global Refugee Forum"),
    "de": ("Städtediplomatie", "Migration", "Flucht", "Kommunen", "GFMD", "IMRF", "Globales Flüchtlingsforum"),
}
DATE_TYPES = {"date", "gYear", "gYearMonth"}


def version_url(project: Project) -> str:
    """Where this release's files stay: ``dist/<version>/``."""
    return f"{project.base_iri}dist/{project.version}/"


def coverage(project: Project, triples: list[Triple]) -> tuple[str, str] | None:
    """The earliest and latest year that a date in the data names."""
    years = sorted(
        t.object.value[:4]
        for t in triples
        if isinstance(t.object, Literal)
        and t.object.datatype.value.startswith(NS["xsd"])
        and t.object.datatype.value[len(NS["xsd"]) :] in DATE_TYPES
        and t.predicate.value != project.def_ns + "lastChecked"
        and t.predicate.value != project.def_ns + "validUntil"
        and t.object.value[:4].isdigit()
    )
    return (years[0], years[-1]) if years else None


def description(project: Project, triples: list[Triple], csv_texts: dict[str, str] | None = None) -> list[Triple]:
    """The DCAT-AP 3 / VoID description of the dump.

    The dataset, its publisher and contact point, themes, spatial and
    temporal coverage, one distribution per download (access and download
    URL, IANA media type; the CSV tables also with their size and SHA-256
    checksum, which the RDF files cannot carry about themselves: those are
    in ``SHA256SUMS``), and the SPARQL endpoint as a ``dcat:DataService``.
    Everything is computed from the data, so the description is the same
    wherever it is made (export, query, server, per-IRI files).
    """
    ns = {k: (lambda local, base=v: NamedNode(base + local)) for k, v in NS.items()}
    rdf, dcterms, dcat, void, owl, xsd, foaf, vcard, spdx, skos = (
        ns[k] for k in ("rdf", "dcterms", "dcat", "void", "owl", "xsd", "foaf", "vcard", "spdx", "skos")
    )
    if csv_texts is None:
        csv_texts = tables(project, to_rdflib(triples))
    entities = {
        t.subject for t in triples if isinstance(t.subject, NamedNode) and t.subject.value.startswith(project.id_ns)
    }
    checked = sorted(t.object.value for t in triples if t.predicate == NamedNode(project.def_ns + "lastChecked"))
    modified = checked[-1] if checked else "1970-01-01"
    ds = NamedNode(dataset_iri(project))
    publisher = NamedNode(dataset_iri(project) + "#publisher")
    contact = NamedNode(dataset_iri(project) + "#contact")
    licence = NamedNode(project.licence)
    service = NamedNode(project.base_iri + "sparql")
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
        Triple(
            ds,
            dcterms("description"),
            Literal(
                "Akteure, Foren, Rahmenwerke, Prozesse, Treffen, Dokumente, Zusagen und Zugangswege der "
                "Städtediplomatie in der globalen Migrationsgovernance, mit der Ontologie und den Begriffsschemata, "
                "die sie beschreiben.",
                language="de",
            ),
        ),
        Triple(ds, dcterms("license"), licence),
        Triple(licence, rdf("type"), dcterms("LicenseDocument")),
        Triple(ds, dcterms("modified"), Literal(modified, datatype=xsd("date"))),
        Triple(ds, owl("versionInfo"), Literal(project.version)),
        Triple(ds, dcat("version"), Literal(project.version)),
        Triple(ds, owl("versionIRI"), NamedNode(version_url(project))),
        Triple(ds, dcterms("identifier"), Literal(dataset_iri(project))),
        Triple(ds, dcat("landingPage"), NamedNode(project.base_iri)),
        Triple(NamedNode(project.base_iri), rdf("type"), foaf("Document")),
        Triple(ds, void("triples"), Literal(str(len(set(triples))), datatype=xsd("integer"))),
        Triple(ds, void("entities"), Literal(str(len(entities)), datatype=xsd("integer"))),
        Triple(ds, void("uriSpace"), Literal(project.id_ns)),
        Triple(ds, void("vocabulary"), NamedNode(project.def_ns)),
        Triple(ds, void("sparqlEndpoint"), service),
        Triple(ds, dcterms("spatial"), NamedNode(EARTH)),
        Triple(NamedNode(EARTH), rdf("type"), dcterms("Location")),
        Triple(ds, dcat("contactPoint"), contact),
        Triple(contact, rdf("type"), vcard("Kind")),
        Triple(contact, rdf("type"), vcard("Organization")),
        Triple(contact, vcard("fn"), Literal(project.publisher or project.name)),
        Triple(contact, vcard("hasURL"), NamedNode(project.base_iri)),
        Triple(ds, dcterms("publisher"), publisher),
        Triple(publisher, rdf("type"), foaf("Agent")),
        Triple(publisher, foaf("name"), Literal(project.publisher or project.name)),
        Triple(publisher, foaf("homepage"), NamedNode(project.base_iri)),
    ]
    for theme, label in THEMES.items():
        out += [
            Triple(ds, dcat("theme"), NamedNode(theme)),
            Triple(NamedNode(theme), rdf("type"), skos("Concept")),
            Triple(NamedNode(theme), skos("prefLabel"), Literal(label, language="en")),
            Triple(NamedNode(theme), skos("inScheme"), NamedNode(THEME_SCHEME)),
        ]
    for lang, words in KEYWORDS.items():
        out += [Triple(ds, dcat("keyword"), Literal(word, language=lang)) for word in words]
    # The languages every entry is written in: each label and definition is
    # required in each of the handbook's languages (vocab/shapes/data.ttl).
    for lang in project.languages:  # codes checked when the project is loaded (config.LANGUAGE_CODES)
        language = NamedNode(LANGUAGE_AUTHORITY + LANGUAGE_CODES[lang])
        out += [
            Triple(ds, dcterms("language"), language),
            Triple(language, rdf("type"), dcterms("LinguisticSystem")),
        ]
    span = coverage(project, triples)
    if span:
        period = NamedNode(dataset_iri(project) + "#period")
        out += [
            Triple(ds, dcterms("temporal"), period),
            Triple(period, rdf("type"), dcterms("PeriodOfTime")),
            Triple(period, dcat("startDate"), Literal(span[0], datatype=xsd("gYear"))),
            Triple(period, dcat("endDate"), Literal(span[1], datatype=xsd("gYear"))),
        ]

    def distribution(url: str, title: str, media: str) -> list[Triple]:
        dist, kind = NamedNode(url), NamedNode(IANA + media)
        return [
            Triple(ds, dcat("distribution"), dist),
            Triple(dist, rdf("type"), dcat("Distribution")),
            Triple(dist, dcterms("title"), Literal(title, language="en")),
            Triple(dist, dcat("accessURL"), dist),
            Triple(dist, dcat("downloadURL"), dist),
            Triple(dist, dcat("mediaType"), kind),
            Triple(kind, rdf("type"), dcterms("MediaType")),
            Triple(dist, dcterms("license"), licence),
        ]

    titles = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD"}
    for suffix, _, media in RDF_FILES:
        url = dump_url(project, suffix)
        out += [Triple(ds, void("dataDump"), NamedNode(url))]
        out += distribution(url, f"The whole graph ({titles[suffix]})", media)
    titles = {kind.key: kind.title["en"] for kind in KINDS} | {"concepts": "Concepts of the concept schemes"}
    for name in csv_names():
        url = f"{project.base_iri}dist/{name}"
        key = name.rsplit("/", 1)[-1].removesuffix(".csv")
        out += distribution(url, f"{titles[key]} (CSV table)", CSV_MEDIA)
        data = csv_texts.get(name, "").encode("utf-8")
        dist, checksum = NamedNode(url), NamedNode(url + "#sha256")
        out += [
            Triple(dist, dcat("byteSize"), Literal(str(len(data)), datatype=xsd("nonNegativeInteger"))),
            Triple(dist, spdx("checksum"), checksum),
            Triple(checksum, rdf("type"), spdx("Checksum")),
            Triple(checksum, spdx("algorithm"), spdx("checksumAlgorithm_sha256")),
            Triple(spdx("checksumAlgorithm_sha256"), rdf("type"), spdx("ChecksumAlgorithm")),
            Triple(
                checksum, spdx("checksumValue"), Literal(hashlib.sha256(data).hexdigest(), datatype=xsd("hexBinary"))
            ),
        ]
    # The SPARQL endpoint: a data service, and a distribution reached through it.
    endpoint = NamedNode(project.base_iri + "sparql#distribution")
    kind = NamedNode(IANA + SPARQL_MEDIA)
    out += [
        Triple(service, rdf("type"), dcat("DataService")),
        Triple(service, dcterms("title"), Literal("SPARQL endpoint of the citydiplo graph", language="en")),
        Triple(service, dcat("endpointURL"), service),
        Triple(service, dcat("servesDataset"), ds),
        Triple(service, dcterms("license"), licence),
        Triple(service, dcterms("conformsTo"), NamedNode(SPARQL_PROTOCOL)),
        Triple(NamedNode(SPARQL_PROTOCOL), rdf("type"), dcterms("Standard")),
        Triple(ds, dcat("distribution"), endpoint),
        Triple(endpoint, rdf("type"), dcat("Distribution")),
        Triple(endpoint, dcterms("title"), Literal("The whole graph over SPARQL", language="en")),
        Triple(endpoint, dcat("accessURL"), service),
        Triple(endpoint, dcat("accessService"), service),
        Triple(endpoint, dcat("mediaType"), kind),
        Triple(kind, rdf("type"), dcterms("MediaType")),
        Triple(endpoint, dcterms("license"), licence),
    ]
    return out


def canonical(triples: list[Triple]) -> list[Triple]:
    """Relabel blank nodes with RDFC-1.0 and sort: the same graph, the same bytes.

    Only the triples that hold a blank node go through the algorithm: RDFC-1.0
    labels a blank node by hashing the quads that mention it (and, through
    them, the blank nodes related to it), never a quad without one, so the
    labels are those of the whole graph. At 5,000 entities 3 % of the triples
    hold one, and this takes 0.4 s instead of 1.5 s."""
    unique = set(triples)
    blank = {t for t in unique if _holds_blank(t)}
    return _sorted([*(unique - blank), *(_relabelled(blank) if blank else ())])


def _holds_blank(term) -> bool:
    """Whether a triple (or a term: a quoted triple counts by its parts) holds a blank node."""
    if isinstance(term, Triple):
        return _holds_blank(term.subject) or _holds_blank(term.object)
    return isinstance(term, BlankNode)


def _relabelled(triples) -> list[Triple]:
    """The (distinct) triples with their blank nodes relabelled by RDFC-1.0."""
    dataset = Dataset(Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples)
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return [q.triple for q in dataset]


def _sorted(triples) -> list[Triple]:
    return sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def canonical_whole(triples: list[Triple]) -> list[Triple]:
    """:func:`canonical` the plain way, every triple through RDFC-1.0 (the reference it is tested against)."""
    return _sorted(_relabelled(set(triples)))


@dataclass(frozen=True)
class Published:
    """The published graph of one state of ``vocab/``: made once per process
    and state (:func:`published`), shared by the dump, the per-IRI files and
    the query store of a build, which used to make it three times."""

    #: the triples of the files, and those derived from them (:func:`read_triples`)
    data: list[Triple]
    #: the CSV tables (their sizes and checksums are part of the description)
    csv_texts: dict[str, str]
    #: the dataset's DCAT-AP / VoID description (:func:`description`)
    description: list[Triple]
    #: data and description, canonicalised and sorted (:func:`dump_graph`)
    triples: list[Triple]
    #: the digest of the input (the project's settings and every file's bytes)
    key: str = ""


#: the last :class:`Published` made in this process, under the digest of its input
_LAST_PUBLISHED: list = []


def published(
    project: Project, files: list[Path] | None = None, graph: Callable[[], rdflib.Graph] | None = None
) -> Published:
    """The published graph of ``files`` (default: the content files of ``vocab/``).

    Kept for the next call with the same input (the project's settings and the
    bytes of every file), so one build makes it once; a changed file makes it again.
    ``graph``: a function giving an rdflib graph of the same files, if the
    caller has one (a build's loaded vocabulary): the CSV tables are read from
    it instead of from a copy made here (seconds at thousands of entities).
    """
    paths = list(files) if files is not None else content_files(project)
    key = published_key(project, paths)
    if _LAST_PUBLISHED and _LAST_PUBLISHED[0] == key:
        return _LAST_PUBLISHED[1]
    data = published_data(project, paths, key)
    csv_texts = tables(project, graph() if graph is not None else to_rdflib(data))
    described = description(project, data, csv_texts)
    result = Published(data, csv_texts, described, canonical(data + described), key)
    _LAST_PUBLISHED[:] = [key, result]
    return result


#: the last data read by :func:`published_data`, under the digest of its input
_LAST_DATA: list = []


def published_data(project: Project, files: list[Path] | None = None, key: str | None = None) -> list[Triple]:
    """The triples of the files and those derived from them (:func:`read_triples`),
    kept for the next call with the same input: the release notes compiled at the
    start of a build and the published graph made later read the files once.
    The list is shared: do not change it."""
    paths = list(files) if files is not None else content_files(project)
    key = key or published_key(project, paths)
    if _LAST_DATA and _LAST_DATA[0] == key:
        return _LAST_DATA[1]
    data = read_triples(project, paths)
    _LAST_DATA[:] = [key, data]
    return data


def published_key(project: Project, files: list[Path] | None = None) -> str:
    """The digest of what :func:`published` makes the graph from: the
    project's settings and every file's name and bytes (cheap: no parsing)."""
    paths = list(files) if files is not None else content_files(project)
    # the same project in another folder has the same key (tests copy built projects)
    settings = [project.name, project.version, project.licence, project.publisher, project.base_iri]
    digest = hashlib.sha256(repr([*settings, project.languages, project.stale_after_days]).encode())
    digest.update(project.settings_bytes())
    for path in paths:
        digest.update(project.rel(path).encode() + b"\0")
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"\1unreadable")  # read_triples reports it
        digest.update(b"\0")
    return digest.hexdigest()


def dump_graph(project: Project, files: list[Path] | None = None) -> list[Triple]:
    """Data triples plus their description, canonicalised and sorted."""
    return published(project, files).triples


def to_rdflib(triples: list[Triple]) -> rdflib.Graph:
    """The same triples as an rdflib graph (for :class:`GraphView`), lexical forms kept."""

    made: dict = {}  # one rdflib term per distinct term (IRIs recur on every line)

    def term(t):
        found = made.get(t)
        if found is not None:
            return found
        if isinstance(t, NamedNode):
            found = rdflib.URIRef(t.value)
        elif isinstance(t, pyoxigraph.BlankNode):
            found = rdflib.BNode(t.value)
        elif t.language:
            found = rdflib.Literal(t.value, lang=t.language)
        else:
            found = rdflib.Literal(t.value, datatype=rdflib.URIRef(t.datatype.value), normalize=False)
        made[t] = found
        return found

    graph = rdflib.Graph()
    graph.addN((term(t.subject), term(t.predicate), term(t.object), graph) for t in triples)
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


#: A cell starting with one of these is read as a formula by spreadsheets
#: (CSV injection); such a cell is written with a leading apostrophe (escape.csv_cell).


def _csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return out.getvalue()


def tables(project: Project, graph: rdflib.Graph) -> dict[str, str]:
    """The CSV tables: ``{path below dist/: text}``, rows sorted by IRI."""
    from rdflib.namespace import DCTERMS, FOAF, OWL, SKOS

    view = GraphView(graph, project, "en")
    cd, schema, geo = rdflib.Namespace(project.def_ns), rdflib.Namespace(NS["schema"]), rdflib.Namespace(NS["geo"])
    compact = jsonld.Compactor(prefixes(project))

    def cell(values) -> str:
        return CSV_SEPARATOR.join(sorted({str(v) for v in values}))

    # One look-up a node for all its values, not one a column (twenty rdflib
    # look-ups a row were most of the time at thousands of entities).
    def objects_of(node) -> dict:
        found: dict = {}
        for prop, value in graph.predicate_objects(node):
            found.setdefault(prop, []).append(value)
        return found

    def texts(of, prop, lang) -> str:
        return cell(v for v in of.get(prop, ()) if isinstance(v, rdflib.Literal) and v.language == lang)

    def labels(of, prop) -> str:
        return cell(view.label(v, "en") for v in of.get(prop, ()))

    def values(of, prop) -> str:
        return cell(of.get(prop, ()))

    rows: dict[str, list] = {kind.key: [] for kind in KINDS}
    for node in view.entities:
        kind = view.kind(node)
        if kind is None:
            continue
        cls = view.main_class(node)
        of = objects_of(node)
        rows[kind.key].append(
            [
                str(node),
                view.slug(node),
                texts(of, SKOS.prefLabel, "en"),
                texts(of, SKOS.prefLabel, "de"),
                values(of, SKOS.altLabel),
                texts(of, SKOS.definition, "en"),
                texts(of, SKOS.definition, "de"),
                compact(str(cls)) if cls is not None else "",
                labels(of, cd.country),
                labels(of, cd.region),
                values(of, schema.foundingDate),
                values(of, schema.startDate),
                values(of, schema.endDate),
                values(of, DCTERMS.issued),
                values(of, DCTERMS.date),
                values(of, FOAF.homepage),
                values(of, OWL.sameAs),
                values(of, DCTERMS.source),
                values(of, cd.lastChecked),
                values(of, cd.validUntil),
                "true" if view.is_deprecated(node) else "false",
                values(of, SKOS.notation),
                values(of, geo.lat),
                values(of, geo.long),
            ]
        )
    out = {f"{CSV_DIR}/{key}.csv": _csv(CSV_COLUMNS, table) for key, table in rows.items()}
    concepts = []
    for scheme in view.schemes:
        for node in view.concepts(scheme):
            of = objects_of(node)
            concepts.append(
                [
                    str(node),
                    view.slug(node),
                    view.slug(scheme),
                    texts(of, SKOS.prefLabel, "en"),
                    texts(of, SKOS.prefLabel, "de"),
                    values(of, SKOS.altLabel),
                    texts(of, SKOS.definition, "en"),
                    texts(of, SKOS.definition, "de"),
                    labels(of, SKOS.broader),
                ]
            )
    concepts.sort(key=lambda row: (row[2], row[0]))
    out[f"{CSV_DIR}/concepts.csv"] = _csv(CONCEPT_COLUMNS, concepts)
    return out


def checksums(folder: Path, names: list[str]) -> str:
    """``sha256sum`` format, in the order given; check with ``sha256sum -c SHA256SUMS``."""
    return "".join(f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n" for name in names)


def write_dump(project: Project, folder: Path, graph: Published) -> list[str]:
    """Write every dump file into ``folder`` (which exists); returns their names."""
    csv_texts, triples = graph.csv_texts, graph.triples
    files = []
    for suffix, _, _ in RDF_FILES:
        name = f"{DUMP_NAME}.{suffix}"
        output_path(folder, name).write_bytes(rdf_text(project, triples, suffix))
        files.append(name)
    for name, text in csv_texts.items():
        path = output_path(folder, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(name)
    (folder / "SHA256SUMS").write_text(checksums(folder, files), encoding="utf-8")
    return [*files, "SHA256SUMS"]


VERSION_RE = re.compile(r"^[0-9][0-9A-Za-z.+-]*$")  # 0.1.0, 1.0.0-rc1: never csv/ or a file name


def version_dir(folder: Path, version: str) -> Path:
    """``folder/<version>``: where a release's files stay; the version must be one plain path segment."""
    if not VERSION_RE.match(version) or version in (".", ".."):
        raise ExportError(f"conf/citydiplo.toml: version {version!r} cannot name a folder (use e.g. 0.2.0)")
    path = folder / version
    if path.resolve().parent != folder.resolve():
        raise ExportError(f"conf/citydiplo.toml: version {version!r} leaves {folder}")
    return path


def export(project: Project, out: Path | None = None, files: list[Path] | None = None) -> ExportResult:
    """Write the dump (RDF, CSV, ``SHA256SUMS``) into ``out`` (default ``build/dist``), atomically.

    The same files also go to ``out/<version>/`` (the release's ``owl:versionIRI``), and the
    folders of earlier versions already in ``out`` are kept, so every release stays downloadable
    and ``citydiplo diff out/OLD out/NEW`` can compare them.
    """
    target = out or project.build_dir / "dist"
    graph = published(project, files)
    data = graph.data
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names = write_dump(project, tmp, graph)
    release = version_dir(tmp, project.version)
    if target.is_dir():
        for old in sorted(target.iterdir()):
            if old.is_dir() and VERSION_RE.match(old.name) and old.name != project.version:
                shutil.copytree(old, tmp / old.name)
    release.mkdir()
    for name in names:
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / name, release / name)
    in_files = sum(1 for line in (tmp / f"{DUMP_NAME}.nt").read_bytes().splitlines() if line.strip())
    replace_dir(tmp, target)
    return ExportResult(directory=target, triples=len(set(data)), files=[target / f for f in names], in_files=in_files)


def copy_export(project: Project, source: ExportResult, out: Path | None = None) -> ExportResult:
    """Put a dump already written (``source``, e.g. the site's ``dist/``) into
    ``out`` (default ``build/dist``) as :func:`export` would write it, atomically,
    keeping the earlier versions already in ``out``: one export per build."""
    target = out or project.build_dir / "dist"
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source.directory, tmp)
    if target.is_dir():
        for old in sorted(target.iterdir()):
            if old.is_dir() and VERSION_RE.match(old.name) and not (tmp / old.name).exists():
                shutil.copytree(old, tmp / old.name)
    replace_dir(tmp, target)
    files = [target / path.relative_to(source.directory) for path in source.files]
    return ExportResult(directory=target, triples=source.triples, files=files, in_files=source.in_files)
