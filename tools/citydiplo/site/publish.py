"""Linked-data publication on the site: every IRI gets a description in RDF.

For each entity ``id/<slug>`` and each ontology term ``def/<Name>`` the
built site holds, next to the HTML page, the description of that resource as
Turtle (``<slug>.ttl``), as compacted JSON-LD (``<slug>.jsonld``), as
N-Triples (``<slug>.nt``) and as RDF/XML (``<slug>.rdf``): its own
triples, the blank nodes they lead to (memberships, access options), the
links into it from other resources (as its HTML page lists them), and the
labels of the things it links to and is linked from, so that a client can show the links
without fetching each one. The ontology as a whole is ``def.ttl`` /
``def.jsonld``, the dataset description ``dataset.ttl`` / ``dataset.jsonld``,
and the full dump is copied into ``dist/``. A web server (``conf/nginx/``,
``citydiplo serve``) then answers a request for an IRI with the page or one
of the files, by the ``Accept`` header.

Entity pages also embed a schema.org description (:func:`schema_org`) in a
``<script type="application/ld+json">`` element, and ``<link rel=alternate>``
elements that point at the RDF files (:func:`page_head`).

Everything here is a pure function of the triples, except
:func:`write_site_files`, which the Sphinx extension calls when an HTML build
has finished.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import BlankNode, NamedNode, RdfFormat, Triple
from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, RDF, RDFS, SKOS

from .. import background
from .. import files as _files
from ..config import Project
from ..escape import script_json
from ..files import write_if_changed
from ..graph.export import NS, ExportResult, canonical, description, export, published, published_key, rdf_text
from ..graph.views import GraphView
from ..paths import is_slug, is_term, output_path

#: The files each described resource gets: suffix and media type (every one negotiable by IRI).
FORMATS = (
    ("ttl", "text/turtle"),
    ("jsonld", "application/ld+json"),
    ("nt", "application/n-triples"),
    ("rdf", "application/rdf+xml"),
)
LABEL_PROPS = (NS["skos"] + "prefLabel", NS["rdfs"] + "label")
SCHEMA = "https://schema.org/"

#: The schema.org type of each class (a subclass takes its nearest mapped superclass).
SCHEMA_TYPES = {
    "LocalGovernment": "GovernmentOrganization",
    "StateBody": "GovernmentOrganization",
    "CityNetwork": "Organization",
    "InternationalOrganisation": "Organization",
    "Initiative": "Organization",
    "Foundation": "Organization",
    "Business": "Corporation",
    "CivilSocietyOrganisation": "NGO",
    "ResearchInstitute": "ResearchOrganization",
    "Actor": "Organization",
    "Person": "Person",
    "Forum": "EventSeries",
    "Process": "EventSeries",
    "Meeting": "Event",
    "Framework": "CreativeWork",
    "Document": "CreativeWork",
    "Report": "Report",
    "WebPage": "WebPage",
    "Pledge": "CreativeWork",
}
#: Properties of the graph shown under a schema.org name (schema: properties keep theirs).
SCHEMA_PROPS = {
    str(ORG.memberOf): "memberOf",
    str(ORG.subOrganizationOf): "parentOrganization",
    str(DCTERMS.creator): "creator",
    str(DCTERMS.issued): "datePublished",
    str(DCTERMS.isPartOf): "isPartOf",
    str(DCTERMS.subject): "about",
    str(SKOS.inScheme): "inDefinedTermSet",
    str(OWL.sameAs): "sameAs",
}
SCHEMA_OWN = {"organisedBy": "organizer", "host": "organizer", "pledgedBy": "creator"}


@dataclass
class PublishResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    dump: ExportResult | None = None


#: The dump each site build wrote (its folder → the export), so that
#: ``citydiplo build`` copies it to build/dist instead of exporting twice.
SITE_DUMPS: dict[str, ExportResult] = {}


def dump_key(site: Path) -> str:
    """The key of a site's dump in :data:`SITE_DUMPS` (the site folder, resolved)."""
    return str(Path(site).resolve())


# ------------------------------------------------------------ descriptions
def by_subject(triples: list[Triple]) -> dict:
    index: dict = defaultdict(list)
    for t in triples:
        index[t.subject].append(t)
    return index


def describe(subjects, index: dict, labels: bool = True) -> list[Triple]:
    """The triples of ``subjects``, their blank-node closure, and the labels
    of the IRIs they link to."""
    out: list[Triple] = []
    seen: set = set()
    todo = list(subjects)
    linked: set = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in index.get(node, []):
            out.append(t)
            if isinstance(t.object, BlankNode):
                todo.append(t.object)
            elif isinstance(t.object, NamedNode):
                linked.add(t.object)
    if labels:
        for node in sorted(linked - seen, key=lambda n: n.value):
            out += [t for t in index.get(node, []) if t.predicate.value in LABEL_PROPS]
    return out


def by_object(triples: list[Triple]) -> dict:
    index: dict = defaultdict(list)
    for t in triples:
        if isinstance(t.object, NamedNode | BlankNode):
            index[t.object].append(t)
    return index


def incoming(node, index: dict, objects: dict) -> list[Triple]:
    """The links into ``node``, as the entity page lists them: each triple
    whose object it is, and where the subject is a blank node (a membership,
    an access option) that node's triples and the link from its owner; then
    the labels of the linking resources."""
    out: list[Triple] = []
    owners: set = set()
    for t in objects.get(node, []):
        if isinstance(t.subject, BlankNode):
            out += index.get(t.subject, [])
            for link in objects.get(t.subject, []):
                if isinstance(link.subject, NamedNode):
                    out.append(link)
                    owners.add(link.subject)
        else:
            out.append(t)
            owners.add(t.subject)
    for owner in sorted(owners - {node}, key=lambda n: n.value):
        out += [t for t in index.get(owner, []) if t.predicate.value in LABEL_PROPS]
    return out


def resource_groups(project: Project, data: list[Triple], described: list[Triple] | None = None) -> dict[str, list]:
    """The triples of every per-resource file (``id/<slug>``, ``def/<Name>``,
    ``def``, ``dataset``), canonicalised (``described``: the dataset's
    description, if already made)."""
    index = by_subject(data)
    rdf_type = NamedNode(NS["rdf"] + "type")
    entities = sorted(
        {t.subject for t in data if t.predicate == rdf_type and t.subject.value.startswith(project.id_ns)},
        key=lambda n: n.value,
    )
    terms = sorted(
        {s for s in index if isinstance(s, NamedNode) and s.value.startswith(project.def_ns)},
        key=lambda n: n.value,
    )
    groups: dict[str, list[Triple]] = {}
    objects = by_object(data)
    for node in entities:
        groups["id/" + node.value[len(project.id_ns) :]] = describe([node], index) + incoming(node, index, objects)
    for node in terms:
        groups["def/" + node.value[len(project.def_ns) :]] = describe([node], index)
    ontology = [NamedNode(project.ontology_iri), *terms]
    groups["def"] = describe(ontology, index, labels=False)
    groups["dataset"] = description(project, data) if described is None else described
    return {name: canonical(triples) for name, triples in groups.items() if _safe(name)}


def serialise(project: Project, name: str, triples: list) -> dict[str, bytes]:
    """The files of one resource: ``{name.suffix: bytes}`` for every format."""
    out = {}
    for suffix, _ in FORMATS:
        if suffix == "rdf":
            out[f"{name}.rdf"] = pyoxigraph.serialize(triples, format=RdfFormat.RDF_XML)
        else:
            out[f"{name}.{suffix}"] = rdf_text(project, triples, suffix)
    return out


def documents(project: Project, data: list[Triple], described: list[Triple] | None = None) -> dict[str, bytes]:
    """Every per-resource file of the site: ``{path below the site root: bytes}``
    (``described``: the dataset's description, if already made)."""
    out = {}
    for name, triples in resource_groups(project, data, described).items():
        out.update(serialise(project, name, triples))
    return out


def _safe(name: str) -> bool:
    """Whether a resource's file name is safe (validation reports the others)."""
    head, _, rest = name.partition("/")
    if not rest:
        return name in ("def", "dataset")
    return (head == "id" and is_slug(rest)) or (head == "def" and is_term(rest))


#: What the last build wrote into the site, kept in the site: the digest of
#: each resource's triples and of the input of the dump (see write_site_files).
MANIFEST = ".citydiplo-rdf.json"


def kept_dump(old: dict, dist: Path, key: str) -> ExportResult | None:
    """The dump the last build wrote into ``dist``, as its manifest ``old``
    describes it, if it was made from the input ``key``
    (:func:`~citydiplo.graph.export.published_key`) and its files are all
    there; else None."""
    dump = old.get("dump") if isinstance(old.get("dump"), dict) else {}
    names = dump.get("files") if isinstance(dump.get("files"), list) else []
    if not names or dump.get("key") != key:
        return None
    files = [output_path(dist, str(name)) for name in names]
    if not all(path.is_file() for path in files):
        return None
    return ExportResult(dist, int(dump.get("triples", 0)), files, int(dump.get("in_files", 0)))


def unchanged_site_files(project: Project, outdir: Path, files, old: dict) -> tuple[list[Path], ExportResult] | None:
    """The files and the dump the last build wrote, if ``vocab/`` is as it was
    then and every file is still there; else None. A no-change rebuild then
    neither parses the data nor serialises anything."""
    resources = old.get("resources") if isinstance(old.get("resources"), dict) else {}
    kept = kept_dump(old, outdir / "dist", published_key(project, files)) if resources else None
    if kept is None:
        return None
    site_files = [outdir / f"{name}.{suffix}" for name in resources for suffix, _ in FORMATS]
    # only looked at, never written: a plain existence test is enough (no resolving)
    if not all(os.path.isfile(path) for path in site_files):
        return None
    return site_files, kept


def write_site_files(project: Project, outdir: Path, files: list[Path] | None = None, graph=None) -> PublishResult:
    """Write the per-resource RDF files and the dump (``dist/``) into a built site.

    Incremental by content: the site keeps (:data:`MANIFEST`) the digest of
    each resource's triples and of the dump's input. A resource whose triples
    are unchanged and whose files are all there is not serialised again; the
    dump is exported again only when ``vocab/`` changed (it is replaced whole).
    A change of this package's code writes everything again. ``graph``: see
    :func:`~citydiplo.graph.export.published`.
    """
    return SiteFiles(project, outdir, files, graph, fork=False).result()


def _write_changed(project: Project, outdir: Path, files, graph, old: dict) -> PublishResult:
    """The work of :func:`write_site_files` once the site's manifest ``old``
    says that something is to be written."""
    result = PublishResult()
    graph = published(project, files, graph)
    known = old.get("resources") if isinstance(old.get("resources"), dict) else {}
    resources: dict[str, str] = {}
    for name, triples in sorted(resource_groups(project, graph.data, graph.description).items()):
        digest = hashlib.sha256("\n".join(map(str, triples)).encode()).hexdigest()
        resources[name] = digest
        paths = [output_path(outdir, f"{name}.{suffix}") for suffix, _ in FORMATS]
        if known.get(name) == digest and all(path.is_file() for path in paths):
            result.unchanged += paths
            continue
        for rel, content in serialise(project, name, triples).items():
            path = output_path(outdir, rel)
            (result.written if write_if_changed(path, content) else result.unchanged).append(path)
    dist = outdir / "dist"
    result.dump = kept_dump(old, dist, graph.key) or export(project, dist, files=files)
    manifest = {
        "code": _files.code_digest(),
        "resources": resources,
        "dump": {
            "key": graph.key,
            "triples": result.dump.triples,
            "in_files": result.dump.in_files,
            "files": [path.relative_to(dist).as_posix() for path in result.dump.files],
        },
    }
    write_if_changed(outdir / MANIFEST, json.dumps(manifest, sort_keys=True, indent=0))
    return result


class SiteFiles:
    """:func:`write_site_files` for a site being built, begun now and finished
    by :meth:`result`.

    When there is work to do and a second core (and ``fork``), the files are
    written by a forked process (:mod:`citydiplo.background`) while
    Sphinx builds the pages; else they are written when the result is asked
    for. Either way the dump is recorded in :data:`SITE_DUMPS` of this process.
    """

    def __init__(self, project: Project, outdir: Path, files: list[Path] | None = None, graph=None, fork=True):
        self.args = (project, outdir, files, graph, read_manifest(outdir))
        self.job = None
        # vocab/ and the code as at the last build, every file there: nothing to do
        self.kept = unchanged_site_files(project, outdir, files, self.args[-1])
        if self.kept is None and fork and BACKGROUND and background.available():
            self.job = background.Forked(_write_changed, *self.args)

    def result(self) -> PublishResult:
        """The files written (raises what writing them raised)."""
        if self.kept is not None:
            result = PublishResult(unchanged=self.kept[0], dump=self.kept[1])
        elif self.job is None:
            result = _write_changed(*self.args)
        else:
            job, self.job = self.job, None
            result = job.result()
        SITE_DUMPS[dump_key(self.args[1])] = result.dump
        return result

    def cancel(self) -> None:
        """The build failed: stop writing."""
        if self.job is not None:
            self.job.cancel()
            self.job = None


#: Whether :class:`SiteFiles` may fork (tests that count calls in this process turn it off).
BACKGROUND = True


def read_manifest(outdir: Path) -> dict:
    """The site's :data:`MANIFEST`, if it was written by this code (else ``{}``: write everything)."""
    try:
        old = json.loads((outdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    # looked up in files when called: a test replaces it there
    return old if isinstance(old, dict) and old.get("code") == _files.code_digest() else {}


# ------------------------------------------------------------- schema.org
def schema_type(view: GraphView, node) -> str:
    if (node, RDF.type, SKOS.ConceptScheme) in view.graph:
        return "DefinedTermSet"
    if (node, RDF.type, SKOS.Concept) in view.graph:
        return "DefinedTerm"
    cls = view.main_class(node)
    while cls is not None:
        name = view.term_name(cls) if view.is_term(cls) else ""
        if name in SCHEMA_TYPES:
            return SCHEMA_TYPES[name]
        supers = sorted(view.graph.objects(cls, RDFS.subClassOf), key=str)
        cls = supers[0] if supers else None
    return "Thing"


def schema_org(view: GraphView, node) -> dict:
    """A schema.org description of an entity, in the build language, for search engines."""
    graph, lang = view.graph, view.lang
    # The dump writes schema.org as https://schema.org/; the published context
    # document (https://schema.org) maps terms to http://schema.org/, so the
    # vocabulary is set here and the embedded description names the same IRIs.
    doc: dict = {"@context": {"@vocab": SCHEMA}, "@type": schema_type(view, node), "@id": str(node)}
    doc["name"] = view.label(node)
    alt = view.texts(node, SKOS.altLabel)
    if alt:
        doc["alternateName"] = alt
    definition = view.text(node, SKOS.definition)
    if definition:
        doc["description"] = definition
    homepages = sorted(str(h) for h in graph.objects(node, FOAF.homepage))
    doc["url"] = homepages[0] if homepages else str(node)
    props: dict[str, list] = defaultdict(list)
    for prop, value in graph.predicate_objects(node):
        iri = str(prop)
        if iri.startswith(SCHEMA):
            key = iri[len(SCHEMA) :]
        elif iri in SCHEMA_PROPS:
            key = SCHEMA_PROPS[iri]
        elif view.is_term(prop) and view.term_name(prop) in SCHEMA_OWN:
            key = SCHEMA_OWN[view.term_name(prop)]
        else:
            continue
        if isinstance(value, RdfLiteral):
            in_lang = any(isinstance(v, RdfLiteral) and v.language == lang for v in graph.objects(node, prop))
            if value.language and value.language != lang and in_lang:
                continue
            text = str(value)
            props[key].append({"@type": "Place", "name": text} if key == "location" else text)
        elif isinstance(value, URIRef):
            ref = {"@id": str(value)}
            if view.is_entity(value) or view.is_term(value):
                ref["name"] = view.label(value)
            props[key].append(ref)
    for key in sorted(props):
        values = sorted(props[key], key=lambda v: json.dumps(v, sort_keys=True))
        unique = [v for i, v in enumerate(values) if v not in values[:i]]
        doc[key] = unique[0] if len(unique) == 1 else unique
    checked = graph.value(node, URIRef(view.cd + "lastChecked"))
    if checked is not None:
        doc["dateModified"] = str(checked)
    return doc


def page_head(view: GraphView, pagename: str) -> str:
    """Extra ``<head>`` markup for an entity or term page, or ``""``."""
    folder, _, name = pagename.partition("/")
    if folder == "id" and name in view.slugs:
        node = view.slugs[name]
    elif folder == "def" and URIRef(view.cd + name) in view.terms:
        node = None
    else:
        return ""
    links = "".join(
        f'<link rel="alternate" type="{media}" href="{html.escape(name)}.{suffix}">\n' for suffix, media in FORMATS
    )
    if node is None:
        return links
    return links + f'<script type="application/ld+json">{script_json(schema_org(view, node))}</script>\n'
