"""Compile the graph into MyST pages: one page per entity and per ontology
term, directory pages per kind, and reference pages (glossary, timeline,
access routes by forum, query catalogue).

Pages are rendered from Jinja templates into a dict of ``{path: text}``;
:func:`sync` then writes only the pages whose text changed and deletes the
pages of entities that no longer exist, so Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import jinja2
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, RDF, RDFS, SKOS

from ..config import Project
from ..files import write_if_changed
from ..graph.query import load_queries
from ..graph.views import KINDS, GraphView, Kind, date_key, lang_value

#: Folders below handbook/ that hold generated pages only (git-ignored).
GENERATED_DIRS = ("id", "def", "reference/generated")

SCHEMA = "https://schema.org/"
PROV_DERIVED = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")

MD_SPECIAL = re.compile(r"([\\`*_\[\]<>{}|#$~^])")


def md(text) -> str:
    """Escape text for inline MyST (tables, definition lists, headings)."""
    return MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


@dataclass
class CompileResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("citydiplo.site", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md
    env.filters["ucfirst"] = lambda text: text[:1].upper() + text[1:]
    return env


class Compiler:
    """Turns a :class:`GraphView` into page texts."""

    def __init__(self, view: GraphView):
        self.view = view
        self.graph = view.graph
        self.cd = view.cd
        self.env = environment()

    # ------------------------------------------------------------ rendering
    def link(self, node, base: str) -> str:
        """A MyST link (or text) for any node, relative to ``base``."""
        view = self.view
        if isinstance(node, Literal):
            return md(node)
        if view.is_entity(node):
            if node in view.entity_set:
                return f"[{md(view.label(node))}]({base}id/{view.slug(node)}.md)"
            return md(view.label(node))
        if view.is_term(node):
            return f"[{md(view.label(node))}]({base}def/{view.term_name(node)}.md)"
        if isinstance(node, URIRef):
            text = str(node)
            if text.startswith(("http://", "https://")):
                shown = re.sub(r"^https?://(www\.)?", "", text).rstrip("/")
                shown = shown if len(shown) <= 70 else shown[:67] + "…"
                return f"[{md(shown)}]({text})"
            return md(text)
        return ""

    def prop_label(self, prop) -> str:
        return self.view.label(prop)

    def inverse_label(self, prop) -> str:
        view = self.view
        key = "cd:" + view.term_name(prop) if view.is_term(prop) else str(prop)
        table = view.strings.get("inverse", {}).get(key)
        if table:
            return table.get(view.lang) or table["en"]
        return f"{self.prop_label(prop)} (inverse)"

    def period(self, node) -> str:
        start = self.graph.value(node, URIRef(SCHEMA + "startDate"))
        end = self.graph.value(node, URIRef(SCHEMA + "endDate"))
        parts = []
        if start is not None:
            parts.append(f"{self.view.ui('since')} {start}")
        if end is not None:
            parts.append(f"{self.view.ui('until')} {end}")
        return ", ".join(parts)

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
            bits.append("(" + md("; ".join(details)) + ")")
        return " ".join(bits)

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
    }
    SKIP_IN: ClassVar[set] = {RDF.type, DCTERMS.source, SKOS.inScheme}

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
            if t != cls and not view.is_term(t):
                types.append(md(view.label(t)))
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
        by_prop: dict = {}
        for prop, value in graph.predicate_objects(node):
            if prop in skip_out or isinstance(value, BNode):
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
                }
            )
        access.sort(key=lambda a: (a["sort"].casefold(), a["note"]))

        incoming: dict = {}
        members = []
        for subject, prop in graph.subject_predicates(node):
            if prop in self.SKIP_IN or prop in symmetric:
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
                        incoming.setdefault(prop, set()).add(self.link(owner, base))
                continue
            if view.is_entity(subject) and subject != node:
                incoming.setdefault(prop, set()).add(self.link(subject, base))
        related = [
            {"label": self.inverse_label(prop), "vals": sorted(values, key=str.casefold)}
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
            "scheme_concepts": scheme_concepts,
            "open_questions": view.texts(node, URIRef(cd + "openQuestion")),
            "notes": view.texts(node, SKOS.note),
            "sources": sources,
            "homepages": homepages,
            "last_checked": str(graph.value(node, URIRef(cd + "lastChecked")) or ""),
            "valid_until": str(graph.value(node, URIRef(cd + "validUntil")) or ""),
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
                }
            )
        if kind.key in ("meetings", "documents"):
            rows.sort(key=lambda r: (date_key(r["date"] or None), r["label"].casefold()))
        else:
            rows.sort(key=lambda r: r["label"].casefold())
        return rows

    # ------------------------------------------------------------------ pages
    def pages(self) -> dict[str, str]:
        view = self.view
        out: dict[str, str] = {}
        entity_tpl = self.env.get_template("entity.md.j2")
        for node in view.entities:
            ctx = self.entity_context(node)
            out[f"id/{ctx['slug']}.md"] = entity_tpl.render(e=ctx, ui=view.ui)
        term_tpl = self.env.get_template("term.md.j2")
        for term in view.terms:
            ctx = self.term_context(term)
            out[f"def/{ctx['name']}.md"] = term_tpl.render(t=ctx, ui=view.ui)

        directory_tpl = self.env.get_template("directory.md.j2")
        for kind in KINDS:
            rows = self.directory_rows(kind)
            if not rows:
                continue
            out[f"reference/generated/{kind.key}.md"] = directory_tpl.render(
                kind=kind,
                title=kind.title.get(view.lang, kind.title["en"]),
                rows=rows,
                ui=view.ui,
                dated=kind.key in ("meetings", "documents"),
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
            ui=view.ui,
        )
        out["reference/generated/ontology.md"] = self.env.get_template("ontology.md.j2").render(
            classes=[self.term_context(t, "../../") for t in view.terms if (t, RDF.type, OWL.Class) in self.graph],
            properties=[
                self.term_context(t, "../../") for t in view.terms if (t, RDF.type, OWL.Class) not in self.graph
            ],
            ui=view.ui,
            md=md,
        )
        out["reference/generated/glossary.md"] = self.glossary_page()
        out["reference/generated/timeline.md"] = self.timeline_page()
        out["reference/generated/access-routes-by-forum.md"] = self.routes_page()
        out["reference/generated/queries.md"] = self.queries_page()
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
                        "related": sorted(self.link(r, "../../") for r in self.graph.objects(concept, SKOS.related)),
                    }
                )
        return self.env.get_template("glossary.md.j2").render(terms=terms, ui=view.ui)

    def timeline_page(self) -> str:
        view, graph = self.view, self.graph
        events = []
        for node in view.entities:
            kind = view.kind(node)
            if kind is None or kind.key not in ("meetings", "documents"):
                continue
            date = graph.value(node, URIRef(SCHEMA + "startDate")) or graph.value(node, DCTERMS.issued)
            if date is None:
                continue
            end = graph.value(node, URIRef(SCHEMA + "endDate"))
            events.append(
                {
                    "year": str(date)[:4],
                    "date": str(date) + (f" – {end}" if end is not None and str(end) != str(date) else ""),
                    "sort": date_key(date),
                    "link": self.link(node, "../../"),
                    "kind": view.label(view.main_class(node)),
                }
            )
        events.sort(key=lambda e: (e["sort"], e["link"].casefold()))
        years: dict[str, list] = {}
        for event in events:
            years.setdefault(event["year"], []).append(event)
        return self.env.get_template("timeline.md.j2").render(years=years, ui=view.ui)

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
                via = ", ".join(sorted(self.link(v, "../../") for v in graph.objects(option, URIRef(cd + "via"))))
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
        return self.env.get_template("routes.md.j2").render(forums=forums, ui=view.ui)

    def queries_page(self) -> str:
        view = self.view
        queries = [
            {
                "name": q.name,
                "title": q.title_de if view.lang == "de" and q.title_de else q.title,
                "description": q.description,
                "text": q.text,
            }
            for q in load_queries(view.project)
        ]
        return self.env.get_template("queries.md.j2").render(queries=queries, ui=view.ui)


def compile_pages(view: GraphView) -> dict[str, str]:
    """All generated pages as ``{path relative to handbook/: MyST text}``."""
    return Compiler(view).pages()


def sync(pages: dict[str, str], handbook: Path) -> CompileResult:
    """Write pages whose text changed; delete generated pages not in ``pages``."""
    result = CompileResult()
    for rel, text in sorted(pages.items()):
        path = handbook / rel
        (result.written if write_if_changed(path, text) else result.unchanged).append(path)
    wanted = {handbook / rel for rel in pages}
    for folder in GENERATED_DIRS:
        base = handbook / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and path not in wanted:
                path.unlink()
                result.deleted.append(path)
    return result


def compile_vocab(graph, project: Project, lang: str = "en") -> CompileResult:
    """Compile and write the generated pages into ``handbook/``."""
    return sync(compile_pages(GraphView(graph, project, lang)), project.handbook_dir)
