"""Read-only views of the graph that the compiler, the Sphinx roles and the
query renderer share: labels in a language, the entities and their kinds."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ..config import Project


def strings() -> dict:
    """UI strings and labels of reused terms, per language (graph/strings.toml)."""
    text = resources.files("citydiplo.graph").joinpath("strings.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Kind:
    """A kind of entity, with its directory page."""

    key: str
    cls: str  # local name of the cd: class, or "" for concept schemes
    title: dict[str, str]
    #: further cd: classes listed on the same page (not subclasses: a city department is no city)
    also: tuple[str, ...] = ()


KINDS = [
    Kind(
        "cities",
        "LocalGovernment",
        {"en": "Cities and local governments", "de": "Städte und Kommunen"},
        also=("CityDepartment",),
    ),
    Kind(
        "city-networks",
        "CityNetwork",
        {"en": "City networks and city-led bodies", "de": "Städtenetzwerke und städtische Einrichtungen"},
    ),
    Kind(
        "international-organisations",
        "InternationalOrganisation",
        {"en": "International organisations and UN bodies", "de": "Internationale Organisationen und UN-Einrichtungen"},
    ),
    Kind("states", "StateBody", {"en": "States and government bodies", "de": "Staaten und staatliche Stellen"}),
    Kind(
        "initiatives",
        "Initiative",
        {"en": "Initiatives and mechanisms", "de": "Initiativen und Mechanismen"},
        also=("FundOrCampaign",),
    ),
    Kind("foundations", "Foundation", {"en": "Foundations and funders", "de": "Stiftungen und Geldgeber"}),
    Kind("businesses", "Business", {"en": "Businesses", "de": "Unternehmen"}),
    Kind(
        "civil-society",
        "CivilSocietyOrganisation",
        {"en": "Civil-society organisations", "de": "Zivilgesellschaftliche Organisationen"},
    ),
    Kind(
        "research",
        "ResearchInstitute",
        {"en": "Research institutes and think tanks", "de": "Forschungseinrichtungen und Thinktanks"},
    ),
    Kind("people", "Person", {"en": "People in public roles", "de": "Personen in öffentlichen Ämtern"}),
    Kind("forums", "Forum", {"en": "Forums", "de": "Foren"}),
    Kind("meetings", "Meeting", {"en": "Meetings and events", "de": "Treffen und Veranstaltungen"}),
    Kind("frameworks", "Framework", {"en": "Intergovernmental frameworks", "de": "Zwischenstaatliche Rahmenwerke"}),
    Kind("processes", "Process", {"en": "Intergovernmental processes", "de": "Zwischenstaatliche Prozesse"}),
    Kind("documents", "Document", {"en": "Documents", "de": "Dokumente"}),
    Kind("pledges", "Pledge", {"en": "Pledges", "de": "Zusagen"}),
]


def lang_value(values, lang: str, fallback: str = "en"):
    """Pick the literal in ``lang``, else in ``fallback``, else any."""
    values = list(values)
    for wanted in (lang, fallback):
        for value in values:
            if isinstance(value, Literal) and value.language == wanted:
                return value
    plain = [v for v in values if isinstance(v, Literal) and not v.language]
    return plain[0] if plain else (values[0] if values else None)


def date_key(value) -> str:
    """Sort key for xsd:date / gYearMonth / gYear literals (as text)."""
    return str(value) if value is not None else "9999"


class GraphView:
    """Labels, kinds and slugs of the entities in one graph, for one language."""

    def __init__(self, graph: Graph, project: Project, lang: str = "en"):
        self.graph = graph
        self.project = project
        self.lang = lang
        self.cd = project.def_ns
        self.strings = strings()

    # ------------------------------------------------------------------ names
    def is_entity(self, node) -> bool:
        return isinstance(node, URIRef) and str(node).startswith(self.project.id_ns)

    def is_term(self, node) -> bool:
        return isinstance(node, URIRef) and str(node).startswith(self.cd)

    def slug(self, node) -> str:
        return str(node)[len(self.project.id_ns) :]

    def term_name(self, node) -> str:
        return str(node)[len(self.cd) :]

    def node(self, slug: str) -> URIRef:
        return URIRef(self.project.id_ns + slug)

    def label(self, node, lang: str | None = None) -> str:
        lang = lang or self.lang
        if isinstance(node, Literal):
            return str(node)
        key = (node, lang)
        cache = self._labels
        if key not in cache:
            cache[key] = self._label(node, lang)
        return cache[key]

    @cached_property
    def _labels(self) -> dict:
        return {}

    def _label(self, node, lang: str) -> str:
        for prop in (SKOS.prefLabel, RDFS.label):
            value = lang_value(self.graph.objects(node, prop), lang)
            if value is not None:
                return str(value)
        table = self.strings.get("terms", {}).get(str(node))
        if table:
            return table.get(lang) or table["en"]
        if self.is_entity(node):
            return self.slug(node)
        local = str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower()  # isPartOf → is part of

    def text(self, node, prop, lang: str | None = None) -> str | None:
        value = lang_value(self.graph.objects(node, prop), lang or self.lang)
        return str(value) if value is not None else None

    def texts(self, node, prop, lang: str | None = None) -> list[str]:
        """All values of ``prop`` in the language (or English if none)."""
        lang = lang or self.lang
        values = list(self.graph.objects(node, prop))
        mine = [str(v) for v in values if isinstance(v, Literal) and v.language == lang]
        if not mine:
            mine = [str(v) for v in values if isinstance(v, Literal) and v.language == "en"]
        return sorted(mine)

    def ui(self, key: str) -> str:
        table = self.strings["ui"]
        return table.get(self.lang, {}).get(key) or table["en"][key]

    # ---------------------------------------------------------------- entities
    @cached_property
    def class_kind(self) -> dict[URIRef, Kind]:
        """Each cd: class (and its subclasses) → the kind whose page lists it."""
        mapping: dict[URIRef, Kind] = {}
        for kind in KINDS:
            for name in (kind.cls, *kind.also):
                for cls in self.graph.transitive_subjects(RDFS.subClassOf, URIRef(self.cd + name)):
                    mapping.setdefault(cls, kind)
        return mapping

    def main_class(self, node) -> URIRef | None:
        """The most specific cd: class of an entity."""
        cache = self._main_classes
        if node not in cache:
            cache[node] = self._main_class(node)
        return cache[node]

    @cached_property
    def _main_classes(self) -> dict:
        return {}

    def _main_class(self, node) -> URIRef | None:
        classes = [c for c in self.graph.objects(node, RDF.type) if self.is_term(c)]
        if not classes:
            return None

        def depth(cls):
            return sum(1 for _ in self.graph.transitive_objects(cls, RDFS.subClassOf))

        return sorted(classes, key=lambda c: (-depth(c), str(c)))[0]

    def kind(self, node) -> Kind | None:
        cls = self.main_class(node)
        return self.class_kind.get(cls) if cls is not None else None

    @cached_property
    def entities(self) -> list[URIRef]:
        """Every described thing: typed subjects in the id namespace."""
        found = {s for s in self.graph.subjects(RDF.type, None) if self.is_entity(s)}
        return sorted(found, key=str)

    @cached_property
    def slugs(self) -> dict[str, URIRef]:
        return {self.slug(e): e for e in self.entities}

    @cached_property
    def today(self) -> dt.date:
        """The build date, for what lies ahead and what has gone stale."""
        return today()

    @cached_property
    def entities_by_kind(self) -> dict[str, list[URIRef]]:
        """The entities of each kind (by key), in the order of :attr:`entities`."""
        groups: dict[str, list[URIRef]] = {}
        for node in self.entities:
            kind = self.kind(node)
            if kind is not None:
                groups.setdefault(kind.key, []).append(node)
        return groups

    @cached_property
    def symmetric_properties(self) -> frozenset[URIRef]:
        return frozenset(self.graph.subjects(RDF.type, OWL.SymmetricProperty))

    @cached_property
    def entity_set(self) -> frozenset[URIRef]:
        """The entities, for O(1) membership tests."""
        return frozenset(self.entities)

    @cached_property
    def schemes(self) -> list[URIRef]:
        return sorted((s for s in self.graph.subjects(RDF.type, SKOS.ConceptScheme) if self.is_entity(s)), key=str)

    def concepts(self, scheme) -> list[URIRef]:
        found = [c for c in self.graph.subjects(SKOS.inScheme, scheme) if self.is_entity(c)]
        return sorted(found, key=lambda c: self.label(c).casefold())

    @cached_property
    def terms(self) -> list[URIRef]:
        """Our own ontology terms (classes and properties)."""
        kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        found = {s for k in kinds for s in self.graph.subjects(RDF.type, k) if self.is_term(s)}
        return sorted(found, key=str)

    def is_deprecated(self, node) -> bool:
        return any(str(v).lower() == "true" for v in self.graph.objects(node, OWL.deprecated))

    @staticmethod
    def is_blank(node) -> bool:
        return isinstance(node, BNode)


def today() -> dt.date:
    """The build date: ``$SOURCE_DATE_EPOCH`` if set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()
