"""Compile the graph into MyST pages: one page per entity and per ontology
term, directory pages per kind, and reference pages (glossary, timeline,
access routes by forum, query catalogue).

Pages are rendered from Jinja templates into a dict of ``{path: text}``;
:func:`sync` then writes only the pages whose text changed and deletes the
pages of entities that no longer exist, so Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import jinja2
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, RDF, RDFS, SKOS

from ..config import Project
from ..escape import (
    SLUG,
    TERM_NAME,
    EscapeError,
    MyST,
    colon_fence,
    finalize,
    html_attr,
    html_json_script,
    myst_code,
    myst_fence,
    myst_ident,
    myst_inline,
    myst_join,
    myst_url,
    safe,
)
from ..files import write_if_changed
from ..graph.diff import compact, diff_triples, previous_release, read_dump
from ..graph.export import published_data
from ..graph.query import load_queries
from ..graph.views import KINDS, GraphView, Kind, date_key, lang_value
from ..paths import UnsafePath, output_path
from . import dates, events

#: Folders below handbook/ that hold generated pages only (git-ignored).
GENERATED_DIRS = ("id", "def", "reference/generated")

SCHEMA = "https://schema.org/"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
#: Identifiers in other datasets, shown by the dataset's name ("GeoNames 2950159").
LINKED_DATASETS = (
    (re.compile(r"^https://sws\.geonames\.org/(\d+)/?$"), "GeoNames"),
    (re.compile(r"^http://www\.wikidata\.org/entity/(Q\d+)$"), "Wikidata"),
)
PROV_DERIVED = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")

#: Inline MyST for a value from the graph (the one escaping boundary: :mod:`citydiplo.escape`).
md = myst_inline


def ucfirst(text):
    """Upper-case the first letter; MyST stays MyST."""
    if not text:
        return text
    if isinstance(text, MyST) and text.startswith("\\"):
        return text
    out = text[:1].upper() + text[1:]
    return MyST(out) if isinstance(text, MyST) else out


def join(items, sep: str = ", ") -> MyST:
    """Jinja ``join`` that escapes every item that is not already MyST."""
    return myst_join(items, sep)


@dataclass
class CompileResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)


def environment() -> jinja2.Environment:
    """The page templates' environment: every printed value is escaped for
    inline MyST unless it is :class:`~citydiplo.escape.MyST` already
    (``finalize``); names in labels and paths are checked (``ident``), code
    goes through ``code`` and ``fence``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("citydiplo.site", "templates"),
        autoescape=False,
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md
    env.filters["ucfirst"] = ucfirst
    env.filters["join"] = join
    env.filters["ident"] = myst_ident
    env.filters["code"] = myst_code
    env.filters["fence"] = myst_fence
    env.filters["html_attr"] = html_attr
    return env


def ui_strings(view: GraphView):
    """The UI strings (project text, not data) for templates, marked as MyST."""
    return lambda key: safe(view.ui(key))


class Compiler:
    """Turns a :class:`GraphView` into page texts."""

    def __init__(self, view: GraphView, links: str = "md"):
        self.view = view
        self.graph = view.graph
        self.cd = view.cd
        self.env = environment()
        #: How pages of the site are linked: "md" (a Markdown link to the page's
        #: source, ``../id/<slug>.md``) or "role" (``{entity}`<slug>` ``, for
        #: entity and term pages that Sphinx writes without a source: the
        #: ``collect`` route, :mod:`citydiplo.site.collect`).
        self.links = links

    # ------------------------------------------------------------ rendering
    def link(self, node, base: str) -> MyST:
        """A MyST link (or escaped text) for any node, relative to ``base``."""
        view = self.view
        if isinstance(node, Literal):
            return md(node)
        if view.is_entity(node):
            if node in view.entity_set:
                slug = myst_ident(view.slug(node), SLUG)
                if self.links == "role":
                    return MyST(f"{{entity}}`{slug}`")
                return MyST(f"[{md(view.label(node))}]({base}id/{slug}.md)")
            return md(view.label(node))
        if view.is_term(node):
            name = myst_ident(view.term_name(node), TERM_NAME)
            if self.links == "role":
                return MyST(f"{{vocab-term}}`{name}`")
            return MyST(f"[{md(view.label(node))}]({base}def/{name}.md)")
        if isinstance(node, URIRef) and str(node) in view.strings.get("terms", {}):
            return md(view.label(node))  # a reused IRI with a name (a language: "German"), not its address
        if isinstance(node, URIRef):
            text = str(node)
            if text.startswith(("http://", "https://")):
                shown = re.sub(r"^https?://(www\.)?", "", text).rstrip("/")
                for pattern, name in LINKED_DATASETS:
                    match = pattern.match(text)
                    if match:
                        shown = f"{name} {match.group(1)}"
                shown = shown if len(shown) <= 70 else shown[:67] + "…"
                try:
                    return MyST(f"[{md(shown)}]({myst_url(text)})")
                except EscapeError:
                    return md(text)
            return md(text)
        return MyST("")

    def sorted_links(self, things, base: str) -> list[MyST]:
        """Links to ``things``, in the order of their Markdown links (by label),
        whichever way pages are linked."""
        if self.links == "md":
            return sorted(self.link(t, base) for t in things)
        links, self.links = self.links, "md"
        try:
            keyed = [(self.link(t, base), t) for t in things]
        finally:
            self.links = links
        return [self.link(t, base) for _, t in sorted(keyed, key=lambda pair: pair[0])]

    def prop_label(self, prop) -> str:
        """A property's name on a reader's page: strings.toml [terms] may rename one of our own terms
        ("cd:relatedEntity") there; the ontology's label stays on its data page."""
        view = self.view
        if view.is_term(prop):
            table = view.strings.get("terms", {}).get("cd:" + view.term_name(prop))
            if table:
                return table.get(view.lang) or table["en"]
        return view.label(prop)

    def inverse_label(self, prop) -> str:
        view = self.view
        key = "cd:" + view.term_name(prop) if view.is_term(prop) else str(prop)
        table = view.strings.get("inverse", {}).get(key)
        if table:
            return table.get(view.lang) or table["en"]
        # a relation without a reader's name for its other direction (strings.toml [inverse]): say what it is
        return view.ui("inverse_fallback").format(label=self.prop_label(prop))

    def period(self, node) -> str:
        """A role's or membership's period in years: "2018–2026", "since 2018"."""
        start = dates.parse(self.graph.value(node, URIRef(SCHEMA + "startDate")))
        end = dates.parse(self.graph.value(node, URIRef(SCHEMA + "endDate")))
        if start is not None and end is None:
            return f"{self.view.ui('since')} {start.first.year}"
        if start is None and end is not None:
            return f"{self.view.ui('until')} {end.first.year}"
        return dates.years(start, end)

    def when(self, node, start_prop, end_prop=None) -> str:
        """A checked date or period of ``node`` as a reader reads it ("5–8 May 2026")."""
        start = self.graph.value(node, start_prop)
        end = self.graph.value(node, end_prop) if end_prop is not None else None
        first, last = dates.parse(start), dates.parse(end)
        if first is None and last is None:
            # not a date of a known form: shown as the text it is (escaped), never trusted
            return " – ".join(str(v) for v in (start, end) if v is not None)
        return dates.span(first, last, self.view.lang)

    def membership_text(self, membership, other, base: str) -> str:
        bits = [self.link(other, base)]
        details = [self.view.label(r) for r in sorted(self.graph.objects(membership, ORG.role), key=str)]
        period = self.period(membership)
        if period:
            details.append(period)
        note = self.view.text(membership, SKOS.note)
        if note:
            details.append(note)
        if details:
            bits.append(MyST("(" + md("; ".join(details)) + ")"))
        return MyST(myst_join(bits, " ") + self.sourced(membership, base))

    # ------------------------------------------------- qualified statements
    def sourced(self, node, base: str) -> MyST:
        """The sources of one statement node, to show next to the statement."""
        links = sorted({self.link(s, base) for s in self.graph.objects(node, DCTERMS.source)}, key=str.casefold)
        if not links:
            return MyST("")
        word = self.view.ui("source") if len(links) == 1 else self.view.ui("sources")
        return MyST(" — " + md(word) + ": " + myst_join(links))

    def statement_period(self, node) -> str:
        """A role's period ("2025–26", "since 2026") or its as-of date."""
        period = self.period(node)
        if period:
            return period
        as_of = dates.parse(self.graph.value(node, URIRef(self.cd + "asOf")))
        if as_of is not None:
            return f"{self.view.ui('as_of')} {dates.text(as_of, self.view.lang)}"
        return ""

    def qualified(self, node, base: str) -> dict:
        """Tenures and participations that concern ``node``, each with its period and sources."""
        view, graph, cd = self.view, self.graph, self.cd
        tenure, participation = URIRef(cd + "Tenure"), URIRef(cd + "Participation")

        def role_text(t, other) -> MyST:
            roles = [md(view.label(r)) for r in sorted(graph.objects(t, ORG.role), key=str)]
            bits = [myst_join(roles)] if roles else []
            if other is not None:
                bits.append(self.link(other, base))
            period = self.statement_period(t)
            text = myst_join(bits, ", ")
            if period:
                text = MyST(f"{text} ([{md(period)}]({base}id/{myst_ident(view.slug(t), SLUG)}.md))")
            return MyST(text + self.sourced(t, base))

        def start_key(t):
            day = dates.parse(graph.value(t, URIRef(SCHEMA + "startDate")))
            return (day.first.isoformat() if day else "9999", view.label(t).casefold())

        held = [t for t in graph.subjects(URIRef(cd + "holder"), node) if (t, RDF.type, tenure) in graph]
        held_in = [t for t in graph.subjects(URIRef(cd + "roleIn"), node) if (t, RDF.type, tenure) in graph]
        roles = [role_text(t, graph.value(t, URIRef(cd + "roleIn"))) for t in sorted(held, key=start_key)]
        holders = [role_text(t, graph.value(t, URIRef(cd + "holder"))) for t in sorted(held_in, key=start_key)]

        def part_text(p, other) -> MyST:
            kinds = [md(view.label(k)) for k in sorted(graph.objects(p, URIRef(cd + "participationKind")), key=str)]
            text = self.link(other, base) if other is not None else MyST("")
            if kinds:
                text = MyST(f"{text} ({myst_join(kinds)})")
            return MyST(text + self.sourced(p, base))

        mine = [p for p in graph.subjects(URIRef(cd + "participant"), node) if (p, RDF.type, participation) in graph]
        took_part = []
        for p in mine:
            other = graph.value(p, URIRef(cd + "atMeeting")) or graph.value(p, URIRef(cd + "signedDocument"))
            took_part.append((view.label(other).casefold() if other is not None else "", part_text(p, other)))
        at_this = [
            p
            for prop in ("atMeeting", "signedDocument")
            for p in graph.subjects(URIRef(cd + prop), node)
            if (p, RDF.type, participation) in graph
        ]
        participants = []
        for p in at_this:
            actor = graph.value(p, URIRef(cd + "participant"))
            participants.append((view.label(actor).casefold() if actor is not None else "", part_text(p, actor)))
        return {
            "roles": roles,
            "holders": holders,
            "took_part": [t for _, t in sorted(took_part)],
            "participants": [t for _, t in sorted(participants)],
            "statement_nodes": set(held) | set(held_in) | set(mine) | set(at_this),
        }

    # ----------------------------------------------------------- entity page
    SKIP_OUT: ClassVar[set] = {
        RDF.type,
        SKOS.prefLabel,
        SKOS.altLabel,
        SKOS.definition,
        DCTERMS.source,
        SKOS.note,
        FOAF.homepage,
        ORG.hasMembership,
        SKOS.inScheme,
        SKOS.example,
        SKOS.scopeNote,
        SKOS.editorialNote,
        SKOS.topConceptOf,  # shown as "In the list" with skos:inScheme
        SKOS.hasTopConcept,  # a list's page lists its entries under their own heading
    }
    #: relations seen from their object that the page already shows another way
    SKIP_IN: ClassVar[set] = {RDF.type, DCTERMS.source, SKOS.inScheme, SKOS.topConceptOf, SKOS.hasTopConcept}

    #: a relation seen from its object with more entries than this lists them by kind (a region's ≈ 120)
    GROUP_OVER: ClassVar[int] = 12
    #: At most this many entries a section of the release notes lists (the command gives all).
    RELEASE_ROWS: ClassVar[int] = 500

    def by_kind(self, links: dict) -> list[dict]:
        """Links (MyST → node) in groups by the directory that lists each node, in the directories' order."""
        view = self.view
        order = {kind.key: i for i, kind in enumerate(KINDS)}
        groups: dict = {}
        for text, node in links.items():
            kind = view.kind(node)
            groups.setdefault(kind.key if kind else "", (kind, []))[1].append(text)
        out = []
        for _key, (kind, texts) in sorted(groups.items(), key=lambda kv: (kv[0] == "", order.get(kv[0], 0))):
            title = (kind.title.get(view.lang) or kind.title["en"]) if kind else view.ui("other_entries")
            out.append({"title": f"{title} ({len(texts)})", "vals": sorted(texts, key=str.casefold)})
        return out

    def entity_context(self, node) -> dict:
        view, graph, base = self.view, self.graph, "../"
        cd = self.cd
        skip_out = self.SKIP_OUT | {
            URIRef(cd + n) for n in ("lastChecked", "validUntil", "openQuestion", "hasAccessOption")
        }

        cls = view.main_class(node)
        types = []
        if cls is not None:
            types.append(self.link(cls, base))
        for t in sorted(graph.objects(node, RDF.type), key=str):
            if t != cls and not view.is_term(t) and t != SKOS.Concept:  # a term's list says what it is
                types.append(md(ucfirst(view.label(t))))
        lists = set(graph.objects(node, SKOS.inScheme)) | set(graph.objects(node, SKOS.topConceptOf))
        alt = sorted(
            {
                str(v)
                for v in graph.objects(node, SKOS.altLabel)
                if isinstance(v, Literal) and v.language in (view.lang, "en")
            }
        )
        other = sorted(
            f"{v} ({v.language})"
            for v in graph.objects(node, SKOS.prefLabel)
            if isinstance(v, Literal) and v.language not in (*view.project.languages, view.lang, None)
        )

        facts = []
        if lists:
            in_list = sorted((self.link(s, base) for s in lists), key=str.casefold)
            facts.append({"label": view.ui("in_list"), "vals": in_list})
        by_prop: dict = {}
        for prop, value in graph.predicate_objects(node):
            if prop in skip_out or isinstance(value, BNode):
                continue
            if prop == DCTERMS.title and str(value) == view.label(node):  # the page's own title again
                continue
            if isinstance(value, Literal) and value.language and prop not in (URIRef(SCHEMA + "location"),):
                continue
            by_prop.setdefault(prop, []).append(value)
        locations = list(graph.objects(node, URIRef(SCHEMA + "location")))
        if locations:  # a place name: one value, in the build language
            by_prop[URIRef(SCHEMA + "location")] = [lang_value(locations, view.lang)]
        symmetric = view.symmetric_properties
        for subject, prop in graph.subject_predicates(node):
            if prop in symmetric and view.is_entity(subject) and subject != node:
                by_prop.setdefault(prop, []).append(subject)
        start_prop, end_prop = URIRef(SCHEMA + "startDate"), URIRef(SCHEMA + "endDate")
        if start_prop in by_prop or end_prop in by_prop:  # one "Date" line, start before end
            by_prop.pop(start_prop, None)
            by_prop.pop(end_prop, None)
            facts.append({"label": view.ui("date"), "vals": [md(self.when(node, start_prop, end_prop))]})
        lat, long = URIRef(GEO + "lat"), URIRef(GEO + "long")
        if lat in by_prop and long in by_prop:  # one line, latitude first
            where = f"{by_prop.pop(lat)[0]}, {by_prop.pop(long)[0]}"
            facts.append({"label": view.ui("coordinates"), "vals": [md(where + " (WGS 84)")]})
        if DCTERMS.issued in by_prop:
            by_prop.pop(DCTERMS.issued)
            facts.append({"label": self.prop_label(DCTERMS.issued), "vals": [md(self.when(node, DCTERMS.issued))]})
        for prop, values in sorted(by_prop.items(), key=lambda kv: self.prop_label(kv[0]).casefold()):
            rendered = sorted({self.link(v, base) for v in values if self.link(v, base)}, key=str.casefold)
            if rendered:
                facts.append({"label": self.prop_label(prop), "vals": rendered})

        memberships = [
            self.membership_text(m, graph.value(m, ORG.organization), base)
            for m in graph.objects(node, ORG.hasMembership)
            if graph.value(m, ORG.organization) is not None
        ]

        access = []
        for option in graph.objects(node, URIRef(cd + "hasAccessOption")):
            route = graph.value(option, URIRef(cd + "route"))
            via = sorted(self.link(v, base) for v in graph.objects(option, URIRef(cd + "via")))
            access.append(
                {
                    "route": self.link(route, base) if route is not None else "",
                    "sort": view.label(route) if route is not None else "",
                    "via": via,
                    "note": md(view.text(option, SKOS.note) or ""),
                    "sourced": self.sourced(option, base),
                }
            )
        access.sort(key=lambda a: (a["sort"].casefold(), a["note"]))

        statements = self.qualified(node, base)
        incoming: dict = {}
        members = []
        for subject, prop in graph.subject_predicates(node):
            if prop in self.SKIP_IN or prop in symmetric or subject in statements["statement_nodes"]:
                continue
            if isinstance(subject, BNode):
                owner_links = list(graph.subject_predicates(subject))
                if prop == ORG.organization:
                    for owner, _ in owner_links:
                        if view.is_entity(owner):
                            members.append(self.membership_text(subject, owner, base))
                    continue
                for owner, _ in owner_links:
                    if view.is_entity(owner):
                        incoming.setdefault(prop, {})[self.link(owner, base)] = owner
                continue
            if view.is_entity(subject) and subject != node:
                incoming.setdefault(prop, {})[self.link(subject, base)] = subject
        related = [
            {
                "label": self.inverse_label(prop),
                "vals": sorted(values, key=str.casefold),
                "groups": self.by_kind(values) if len(values) > self.GROUP_OVER else [],
            }
            for prop, values in sorted(incoming.items(), key=lambda kv: self.inverse_label(kv[0]).casefold())
        ]

        scheme_concepts = []
        if (node, RDF.type, SKOS.ConceptScheme) in graph:
            scheme_concepts = [self.link(c, base) for c in view.concepts(node)]

        sources = sorted({self.link(s, base) for s in graph.objects(node, DCTERMS.source)}, key=str.casefold)
        homepages = sorted(self.link(h, base) for h in graph.objects(node, FOAF.homepage))
        return {
            "slug": view.slug(node),
            "iri": str(node),
            "label": view.label(node),
            "definition": view.text(node, SKOS.definition) or "",
            "types": types,
            "alt": alt,
            "other_names": other,
            "facts": facts,
            "memberships": sorted(memberships, key=str.casefold),
            "members": sorted(members, key=str.casefold),
            "access": access,
            "related": related,
            "roles": statements["roles"],
            "holders": statements["holders"],
            "took_part": statements["took_part"],
            "participants": statements["participants"],
            "scheme_concepts": scheme_concepts,
            "open_questions": view.texts(node, URIRef(cd + "openQuestion")),
            "notes": view.texts(node, SKOS.note),
            "sources": sources,
            "homepages": homepages,
            "last_checked": self.when(node, URIRef(cd + "lastChecked")),
            "valid_until": self.when(node, URIRef(cd + "validUntil")),
            "deprecated": view.is_deprecated(node),
        }

    # ----------------------------------------------------------- term page
    def term_context(self, term, base: str = "../") -> dict:
        view, graph = self.view, self.graph
        supers = [self.link(s, base) for s in sorted(graph.objects(term, RDFS.subClassOf), key=str)]
        subs = [self.link(s, base) for s in sorted(graph.subjects(RDFS.subClassOf, term), key=str)]
        superprops = [self.link(s, base) for s in sorted(graph.objects(term, RDFS.subPropertyOf), key=str)]
        kind = "class" if (term, RDF.type, OWL.Class) in graph else "property"
        instances = []
        if kind == "class":
            instances = sorted(
                (s for s in graph.subjects(RDF.type, term) if view.is_entity(s)), key=lambda s: view.label(s).casefold()
            )
        return {
            "name": view.term_name(term),
            "link": self.link(term, base),
            "iri": str(term),
            "label": view.label(term),
            "kind": kind,
            "definition": view.text(term, SKOS.definition) or "",
            "examples": sorted(str(e) for e in graph.objects(term, SKOS.example)),
            "supers": supers,
            "subs": subs,
            "superprops": superprops,
            "domain": [self.link(d, base) for d in graph.objects(term, RDFS.domain)],
            "range": [self.link(r, base) for r in graph.objects(term, RDFS.range)],
            "instances": len(instances),
            "deprecated": view.is_deprecated(term),
        }

    # ------------------------------------------------------------- directories
    def directory_rows(self, kind: Kind) -> list[dict]:
        view, graph, base = self.view, self.graph, "../../"
        rows = []
        for node in view.entities_by_kind.get(kind.key, []):
            alt = sorted(
                {
                    str(v)
                    for v in graph.objects(node, SKOS.altLabel)
                    if isinstance(v, Literal) and v.language in (view.lang, "en")
                }
            )
            where = [graph.value(node, URIRef(self.cd + "country")), graph.value(node, URIRef(self.cd + "region"))]
            date = graph.value(node, URIRef(SCHEMA + "startDate")) or graph.value(node, DCTERMS.issued)
            rows.append(
                {
                    "link": self.link(node, base),
                    "label": view.label(node),
                    "alt": md(", ".join(alt)),
                    "where": md(", ".join(view.label(w) for w in where if w is not None)),
                    "date": str(date) if date is not None else "",
                    "when": md(self.when(node, URIRef(SCHEMA + "startDate"), URIRef(SCHEMA + "endDate")))
                    if graph.value(node, URIRef(SCHEMA + "startDate")) is not None
                    else md(self.when(node, DCTERMS.issued)),
                    "facets": self.facets(node),
                }
            )
        if kind.key in ("meetings", "documents"):
            rows.sort(key=lambda r: (date_key(r["date"] or None), r["label"].casefold()))
        else:
            rows.sort(key=lambda r: r["label"].casefold())
        return rows

    #: Facets a directory can be filtered by: key → (UI string, properties whose values are shown).
    FACETS: ClassVar[tuple] = (
        ("region", "facet_region", ("region",)),
        ("country", "facet_country", ("country",)),
        ("network", "facet_network", ("memberOf",)),
        ("forum", "facet_forum", ("superEvent",)),
        ("year", "facet_year", ()),
    )

    def facets(self, node) -> dict[str, list[str]]:
        """The values (labels) of a directory row's facets, for filtering in the browser."""
        view, graph, cd = self.view, self.graph, self.cd
        props = {
            "region": [URIRef(cd + "region")],
            "country": [URIRef(cd + "country")],
            "memberOf": [ORG.memberOf],
            "superEvent": [URIRef(SCHEMA + "superEvent")],
        }
        out: dict[str, list[str]] = {}
        for key, _, names in self.FACETS:
            values = set()
            for name in names:
                for prop in props[name]:
                    values |= {view.label(v) for v in graph.objects(node, prop) if view.is_entity(v)}
            if key == "network":  # members through qualified memberships too
                for membership in graph.objects(node, ORG.hasMembership):
                    target = graph.value(membership, ORG.organization)
                    if target is not None and view.is_entity(target):
                        values.add(view.label(target))
            if key == "year":
                day = dates.parse(graph.value(node, URIRef(SCHEMA + "startDate")) or graph.value(node, DCTERMS.issued))
                if day is not None:
                    values.add(str(day.first.year))
            if values:
                out[key] = sorted(values, key=str.casefold)
        return out

    def facets_script(self, kind: Kind, rows: list[dict]) -> MyST:
        labels = {key: self.view.ui(ui_key) for key, ui_key, _ in self.FACETS}
        return html_json_script(
            {"facets": labels, "rows": [r["facets"] for r in rows]},
            f"citydiplo-directory-{kind.key}",
            "citydiplo-directory-data",
            all_label=self.view.ui("facet_all"),
            shown_label=self.view.ui("facet_shown"),
        )

    # ------------------------------------------------------------------ pages
    def pages(self, route: str = "myst") -> dict[str, str]:
        """The generated MyST pages. With ``route="collect"`` the entity and term
        pages are left out: Sphinx writes them from :func:`html_pages`."""
        view = self.view
        out: dict[str, str] = {}
        if route == "myst":
            entity_tpl = self.env.get_template("entity.md.j2")
            for node in view.entities:
                ctx = self.entity_context(node)
                out[f"id/{ctx['slug']}.md"] = entity_tpl.render(e=ctx, ui=ui_strings(view))
            term_tpl = self.env.get_template("term.md.j2")
            for term in view.terms:
                ctx = self.term_context(term)
                out[f"def/{ctx['name']}.md"] = term_tpl.render(t=ctx, ui=ui_strings(view))

        directory_tpl = self.env.get_template("directory.md.j2")
        for kind in KINDS:
            rows = self.directory_rows(kind)
            if not rows:
                continue
            out[f"reference/generated/{kind.key}.md"] = directory_tpl.render(
                kind=kind,
                title=kind.title.get(view.lang, kind.title["en"]),
                rows=rows,
                ui=ui_strings(view),
                dated=kind.key in ("meetings", "documents"),
                city_map=kind.key == "cities",
                data=self.facets_script(kind, rows),
            )
        out["reference/generated/concept-schemes.md"] = self.env.get_template("schemes.md.j2").render(
            schemes=[
                {
                    "title": view.label(s),
                    "link": self.link(s, "../../"),
                    "definition": md(view.text(s, SKOS.definition) or ""),
                    "concepts": [
                        {"link": self.link(c, "../../"), "definition": md(view.text(c, SKOS.definition) or "")}
                        for c in view.concepts(s)
                    ],
                }
                for s in view.schemes
                if view.slug(s) != "glossary"
            ],
            ui=ui_strings(view),
        )
        out["reference/generated/ontology.md"] = self.env.get_template("ontology.md.j2").render(
            classes=[self.term_context(t, "../../") for t in view.terms if (t, RDF.type, OWL.Class) in self.graph],
            properties=[
                self.term_context(t, "../../") for t in view.terms if (t, RDF.type, OWL.Class) not in self.graph
            ],
            ui=ui_strings(view),
        )
        out["reference/generated/glossary.md"] = self.glossary_page()
        out["reference/generated/timeline.md"] = self.timeline_page()
        out["reference/generated/upcoming.md"] = self.upcoming_page()
        out["reference/generated/access-routes-by-forum.md"] = self.routes_page()
        out["reference/generated/queries.md"] = self.queries_page()
        out["reference/generated/release-notes.md"] = self.release_notes_page()
        return out

    def glossary_page(self) -> str:
        """The glossary scheme as a Sphinx glossary.

        Each entry lists its label in the build language first, then its
        abbreviations and its labels in the other handbook languages, so that
        ``{term}`` links resolve in every edition. A term text is used once.
        """
        view = self.view
        scheme = view.slugs.get("glossary")
        terms = []
        used: set[str] = set()
        if scheme is not None:
            for concept in view.concepts(scheme):
                labels = []
                for lang in [view.lang] + [x for x in view.project.languages if x != view.lang]:
                    labels.append(view.label(concept, lang))
                    labels += sorted(
                        str(v)
                        for v in self.graph.objects(concept, SKOS.altLabel)
                        if isinstance(v, Literal) and v.language == lang
                    )
                names = []
                for label in labels:
                    key = label.casefold()
                    if key not in used:
                        used.add(key)
                        names.append(label)
                if not names:
                    continue
                terms.append(
                    {
                        "names": names,
                        "definition": md(view.text(concept, SKOS.definition) or ""),
                        "link": self.link(concept, "../../"),
                        "related": self.sorted_links(
                            (
                                r
                                for prop in (SKOS.related, URIRef(view.project.def_ns + "relatedEntity"))
                                for r in self.graph.objects(concept, prop)
                            ),
                            "../../",
                        ),
                    }
                )
        return self.env.get_template("glossary.md.j2").render(terms=terms, ui=ui_strings(view))

    # -------------------------------------------------------- dated things
    def event_row(self, event: events.Event) -> dict:
        view = self.view
        precision = {"month": view.ui("precision_month"), "year": view.ui("precision_year")}
        return {
            "date": md(dates.span(event.start, event.end, view.lang)),
            "precision": precision.get(event.start.precision, ""),
            "link": self.link(event.node, "../../"),
            "kind": event.kind_label,
            "sources": [self.link(URIRef(s), "../../") for s in event.sources],
        }

    def events_script(self, rows: list[events.Event], element_id: str) -> MyST:
        return html_json_script(
            [e.as_json() for e in rows],
            element_id,
            "citydiplo-events-data",
            today_label=self.view.ui("today"),
            ahead_label=self.view.ui("ahead"),
            passed_label=self.view.ui("passed_note"),
        )

    def timeline_page(self) -> str:
        """Dated meetings and documents, newest first, grouped by year; the
        reader's browser marks what lies ahead and where today is."""
        view = self.view
        dated = [e for e in self.events if e.kind_key in ("meetings", "documents")]
        dated.reverse()  # newest first
        years: dict[str, list] = {}
        for event in dated:
            years.setdefault(str(event.start.first.year), []).append(self.event_row(event))
        return self.env.get_template("timeline.md.j2").render(
            years=years, ui=ui_strings(view), data=self.events_script(dated, "citydiplo-timeline-data")
        )

    def upcoming_page(self) -> str:
        """What lies ahead at build time, soonest first, and the last twelve
        months, newest first; the browser hides what has passed since."""
        view = self.view
        today = view.today
        ahead = [e for e in self.events if e.ahead(today)]
        recent = [e for e in self.events if not e.ahead(today) and (today - e.last).days <= 366]
        recent.reverse()
        return self.env.get_template("upcoming.md.j2").render(
            ui=ui_strings(view),
            as_of=md(dates.text(dates.Day(today, today, "day"), view.lang)),
            ahead=[self.event_row(e) for e in ahead],
            recent=[self.event_row(e) for e in recent],
            data=self.events_script(ahead, "citydiplo-upcoming-data"),
        )

    @cached_property
    def events(self) -> list[events.Event]:
        return events.collect(self.view)

    def routes_page(self) -> str:
        view, graph, cd = self.view, self.graph, self.cd
        forums = []
        for node in view.entities:
            options = list(graph.objects(node, URIRef(cd + "hasAccessOption")))
            if not options:
                continue
            rows = []
            for option in options:
                route = graph.value(option, URIRef(cd + "route"))
                via = myst_join(self.sorted_links(graph.objects(option, URIRef(cd + "via")), "../../"))
                rows.append(
                    {
                        "route": self.link(route, "../../") if route is not None else "",
                        "sort": view.label(route).casefold() if route is not None else "",
                        "via": via,
                        "note": md(view.text(option, SKOS.note) or ""),
                    }
                )
            rows.sort(key=lambda r: (r["sort"], r["note"]))
            forums.append({"link": self.link(node, "../../"), "label": view.label(node), "rows": rows})
        forums.sort(key=lambda f: f["label"].casefold())
        return self.env.get_template("routes.md.j2").render(forums=forums, ui=ui_strings(view))

    def queries_page(self) -> str:
        view = self.view
        queries = [
            {
                "name": q.name,
                "title": q.title_de if view.lang == "de" and q.title_de else q.title,
                "description": q.description,
                "text": q.text,
                "colons": safe(colon_fence(q.text)),
            }
            for q in load_queries(view.project)
        ]
        return self.env.get_template("queries.md.j2").render(queries=queries, ui=ui_strings(view))

    def release_notes_page(self) -> str:
        """The data changelog since the latest earlier release kept in the
        repository (``vocab/releases/<version>/``), computed from the current data."""
        view, base = self.view, "../../"
        release = previous_release(view.project)
        ctx: dict = {"base": None}
        if release is not None:
            # The published data without the dataset description (its subjects are not
            # entities or terms, and it is the slow part of an export): the same changes.
            result = diff_triples(view.project, read_dump(release), published_data(view.project))

            pages = view.entity_set | set(view.terms)  # IRIs with a page of their own (not datatypes)

            def item(change, removed: bool) -> MyST:
                node = URIRef(change.iri)
                if node in pages and not removed:
                    shown = self.link(node, base)
                else:
                    shown = md(change.label if removed else view.label(node))
                text = MyST(f"{shown} {myst_code(compact(view.project, change.iri))}")
                if change.properties:
                    text = MyST(text + ": " + myst_join([myst_code(p) for p in change.properties]))
                return text

            sections = [
                (view.ui("release_added"), result.added, False),
                (view.ui("release_removed"), result.removed, True),
                (view.ui("release_changed"), result.changed, False),
            ]
            rel = release.relative_to(view.project.root).as_posix()
            ctx = {
                "base": f"{rel}/",
                "old_version": result.old_version,
                "new_version": result.new_version,
                "command": f"citydiplo diff {rel} build/dist",
                "counts": view.ui("release_counts").format(
                    added=len(result.added), removed=len(result.removed), changed=len(result.changed)
                ),
                "sections": [
                    {
                        "title": title,
                        "total": len(changes),
                        "entries": [item(c, removed) for c in changes[: self.RELEASE_ROWS]],
                        "cut": view.ui("release_rows_shown").format(shown=self.RELEASE_ROWS, total=len(changes))
                        if len(changes) > self.RELEASE_ROWS
                        else "",
                    }
                    for title, changes, removed in sections
                    if changes
                ],
            }
        return self.env.get_template("release-notes.md.j2").render(ui=ui_strings(view), **ctx)


def compile_pages(view: GraphView, route: str = "myst") -> dict[str, str]:
    """All generated pages as ``{path relative to handbook/: MyST text}``
    (without the entity and term pages on the ``collect`` route)."""
    if route == "collect":
        return Compiler(view, links="role").pages(route)
    return Compiler(view).pages()


def sync(pages: dict[str, str], handbook: Path) -> CompileResult:
    """Write pages whose text changed; delete generated pages not in ``pages``."""
    result = CompileResult()
    wanted = set()
    for rel, text in sorted(pages.items()):
        # Refuses (UnsafePath) a name from the data that would leave its
        # folder; validation reports such a slug first, at its path:line.
        path = output_path(handbook, rel)
        if not any(rel.startswith(folder + "/") for folder in GENERATED_DIRS):
            raise UnsafePath(f"{rel!r} is not below a generated folder ({', '.join(GENERATED_DIRS)})")
        wanted.add(path.resolve())
        (result.written if write_if_changed(path, text) else result.unchanged).append(path)
    for folder in GENERATED_DIRS:
        base = handbook / folder
        if base.is_symlink() or not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.resolve() not in wanted:
                path.unlink()
                result.deleted.append(path)
    return result


def compile_key(project: Project, route: str, language: str, edition: str) -> str:
    """What the generated pages are made from: every file below ``vocab/``
    (data, queries, releases), the package's code, templates and strings,
    ``conf/citydiplo.toml``, the route, the language, the edition and the
    build date (the page of upcoming events)."""
    from .. import files
    from ..graph.views import today

    digest = hashlib.sha256(json.dumps([route, language, edition, str(today()), files.code_digest()]).encode())
    digest.update(project.settings_bytes())
    for path in sorted(project.vocab_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(project.vocab_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def generated_files(handbook: Path) -> dict[str, str]:
    """The generated pages now in ``handbook``: ``{relative path: sha256}``."""
    found = {}
    for folder in GENERATED_DIRS:
        base = handbook / folder
        if base.is_symlink() or not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(handbook).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def compile_if_changed(
    make_view: Callable[[], GraphView], route: str, handbook: Path, stamp: Path, key: str
) -> CompileResult | None:
    """Compile and :func:`sync` the generated pages, unless the last compile
    recorded in ``stamp`` had the same ``key`` (:func:`compile_key`) and its
    pages are in ``handbook`` as it wrote them (then None: nothing to do).

    Rendering every directory, the timeline and the release notes from the
    graph took seconds at thousands of entities on every build, also when
    nothing had changed. ``make_view`` gives the graph view; it is not called
    (and the graph not made) when there is nothing to compile."""
    try:
        last = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = {}
    if isinstance(last, dict) and last.get("key") == key and last.get("files") == generated_files(handbook):
        return None
    result = sync(compile_pages(make_view(), route), handbook)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(stamp, json.dumps({"key": key, "files": generated_files(handbook)}, sort_keys=True, indent=0))
    return result


def compile_vocab(graph, project: Project, lang: str = "en") -> CompileResult:
    """Compile and write the generated pages into ``handbook/``."""
    return sync(compile_pages(GraphView(graph, project, lang)), project.handbook_dir)
