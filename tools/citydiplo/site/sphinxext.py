"""Sphinx extension: wire load → validate → compile into the build, and add
the ``{entity}`` role and the ``query``, ``exercise``, ``trainer-note`` and
``writing-space`` directives.

The work is done by the pure functions in :mod:`citydiplo.graph.load`,
:mod:`citydiplo.graph.validate`, :mod:`citydiplo.site.compile` and
:mod:`citydiplo.graph.query`; this module only connects them to Sphinx events and
turns problems into typed warnings (``citydiplo.vocab``, ``citydiplo.link``,
``citydiplo.query``, ``citydiplo.content``) so that ``-W`` fails the build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from pyoxigraph import Literal as OxLiteral
from pyoxigraph import NamedNode
from rdflib import Literal, URIRef
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole
from sphinx.util.parsing import nested_parse_to_nodes

from .. import __version__
from ..config import Project, load_project
from ..graph.load import Vocab, load, take_over
from ..graph.query import Query, QueryError, load_queries, make_store, run_query
from ..graph.validate import errors, validate
from ..graph.views import GraphView
from . import dates
from .checks import setup_checks
from .citymap import city_map_figure
from .compile import GENERATED_DIRS, compile_if_changed, compile_key

logger = logging.getLogger(__name__)

#: Build state per source folder (docutils roles cannot reach the app).
_STATE: dict[str, State] = {}

TRAINER_TITLE = {"en": "Trainer note", "de": "Hinweis für Trainerinnen und Trainer"}
EXERCISE_TITLE = {"en": "Exercise", "de": "Übung"}
FACILITATOR_TITLE = {"en": "Facilitator notes", "de": "Hinweise für die Moderation"}
SESSION_WORD = {"en": "session", "de": "Einheit"}
#: The parts of a facilitator note, in order: each a paragraph that starts
#: with its name in bold ("**Purpose.** …"). "Key messages" is followed by a
#: list of 3 to 5 items (the slides are made from them).
FACILITATOR_PARTS = ("Purpose", "Key messages", "Say and show", "Ask", "Timing", "Shorter or online")
KEY_MESSAGES = (3, 5)
#: Shown above a handbook page that has no catalogue in the edition's language.
UNTRANSLATED = {
    "en": ("Not yet translated", "This page has not been translated yet, so it is shown in English."),
    "de": ("Noch nicht übersetzt", "Diese Seite ist noch nicht ins Deutsche übersetzt; sie erscheint auf Englisch."),
}
REVIEW_TEXT = {
    "en": ("Last reviewed", "next review due"),
    "de": ("Zuletzt überprüft", "nächste Überprüfung fällig"),
}


@dataclass
class State:
    project: Project
    vocab: Vocab
    language: str
    edition: str
    vocab_hash: str
    queries: dict[str, Query] = field(default_factory=dict)
    _store: object = None
    _view: GraphView | None = None
    #: The entity and term pages of the collect route, once rendered (:mod:`citydiplo.site.collect`).
    collected: dict | None = None
    collected_titles: dict | None = None
    #: Where the last build kept the titles and labels (collect route; :mod:`citydiplo.site.collect`),
    #: and the digest of what they are made of in this build.
    names_path: Path | None = None
    names_key: str = ""
    #: What was kept there, if made from the same inputs ({} if not): see :func:`kept_names`.
    kept: dict | None = None
    #: What a key of :func:`shown` gives in this build (diagrams are drawn once to get it).
    shown_cache: dict = field(default_factory=dict)
    #: Each query's answer in this build: (variables, rows), or the QueryError it raised.
    answers: dict = field(default_factory=dict)

    def answer(self, query: Query) -> tuple[list[str], list[list]]:
        """The answer to ``query`` on this build's store (asked once per build)."""
        if query.name not in self.answers:
            try:
                self.answers[query.name] = run_query(self.project, query.text, store=self.store)
            except QueryError as exc:
                self.answers[query.name] = exc
        found = self.answers[query.name]
        if isinstance(found, QueryError):
            raise found
        return found

    @property
    def view(self) -> GraphView:
        """The graph in the build language, made when first asked for: a
        rebuild that finds nothing changed does not ask (see :mod:`citydiplo.site.collect`)."""
        if self._view is None:
            self._view = GraphView(self.vocab.graph, self.project, self.language)
        return self._view

    @property
    def store(self):
        if self._store is None:
            self._store = make_store(self.project, self.vocab.content_files, lambda: self.vocab.graph)
        return self._store


def state_for(env) -> State:
    return _STATE[_resolved(str(env.srcdir))]


#: Source folders as given → resolved (``state_for`` is asked for on every role and page).
_RESOLVED: dict[str, str] = {}


def _resolved(srcdir: str) -> str:
    found = _RESOLVED.get(srcdir)
    if found is None:
        found = _RESOLVED[srcdir] = str(Path(srcdir).resolve())
    return found


def last_state(srcdir: Path) -> State | None:
    """The state of the last build of ``srcdir`` in this process (its vocabulary
    and graph view), for a caller that needs the graph after the build."""
    return _STATE.get(str(Path(srcdir).resolve()))


def vocab_digest(project: Project, edition: str, language: str) -> str:
    digest = hashlib.sha256(f"{edition}|{language}".encode())
    for path in sorted(project.vocab_dir.rglob("*")):
        if path.is_file() and path.suffix in (".ttl", ".rq"):
            digest.update(str(path.relative_to(project.vocab_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


#: Kept with the doctrees: what the generated pages of the last build were made from.
COMPILE_STAMP = "citydiplo-compiled.json"


# ----------------------------------------------------------------- events
def on_builder_inited(app) -> None:
    config = app.config
    project = load_project(config.citydiplo_root or Path(app.confdir).parent)
    language = config.language or "en"
    vocab = take_over(project) or load(project)
    problems = validate(vocab) if config.citydiplo_validate else list(vocab.problems)
    for problem in errors(problems):
        logger.warning(
            f"{problem.entity + ': ' if problem.entity else ''}{problem.message}",
            type="citydiplo",
            subtype="vocab",
            location=f"{project.root / problem.path}:{problem.line}",
        )
    state = State(
        project=project,
        vocab=vocab,
        language=language,
        edition=config.citydiplo_edition,
        vocab_hash=vocab_digest(project, config.citydiplo_edition, language),
        queries={q.name: q for q in load_queries(project)},
    )
    _RESOLVED[str(app.srcdir)] = key = str(Path(app.srcdir).resolve())
    _STATE[key] = state
    from .collect import NAMES_FILE, names_key, route

    if route(app) == "collect":
        state.names_path, state.names_key = Path(app.doctreedir) / NAMES_FILE, names_key(app)
    if config.citydiplo_compile:
        chosen = route(app)
        key = compile_key(project, chosen, language, config.citydiplo_edition)
        stamp = Path(app.doctreedir) / COMPILE_STAMP
        result = compile_if_changed(lambda: state.view, chosen, Path(app.srcdir), stamp, key)
        if result is None:
            logger.info("citydiplo: generated pages unchanged (vocab/ and the code are as at the last build)")
        else:
            logger.info(
                f"citydiplo: {len(result.written)} generated page(s) written, {len(result.unchanged)} unchanged, "
                f"{len(result.deleted)} deleted"
            )


def on_env_get_outdated(app, env, added, changed, removed):
    """Re-read the pages that show graph data when the graph has changed: a
    page that links entries (``{entity}``, ``{vocab-term}``) when the label of
    one of them changed or the entry is gone; a page with a diagram or the map
    when what it draws changed, and a page with a query when the rows it shows
    changed (:func:`shown`)."""
    state = state_for(env)
    previous = getattr(env, "citydiplo_vocab_hash", None)
    env.citydiplo_vocab_hash = state.vocab_hash
    uses = getattr(env, "citydiplo_uses", {})
    if previous is None or previous == state.vocab_hash:
        return []
    outdated = []
    for doc, seen in uses.items():
        if doc not in env.found_docs:
            continue
        if not isinstance(seen, dict) or any(shown(state, key) != value for key, value in seen.items()):
            outdated.append(doc)
    return sorted(outdated)


def on_env_before_read_docs(app, env, docnames) -> None:
    """Make the query store in the main process before Sphinx forks its readers
    when a page to be read runs a query: the workers share it instead of each
    making its own (seconds at thousands of entities)."""
    for doc in docnames:
        try:
            text = Path(env.doc2path(doc)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # Sphinx reports it when it reads the page
        if "{query}" in text:
            state_for(env).store  # noqa: B018 (made now, kept on the state)
            break
    start_site_files(app)


def start_site_files(app):
    """Begin writing the RDF files and the dump of an HTML build (after the
    query store is made, so that a forked writer inherits the published
    graph); returns the :class:`~citydiplo.site.publish.SiteFiles` (None for
    another builder)."""
    if app.builder.name == "html" and getattr(app.builder, "_citydiplo_site_files", None) is None:
        from .publish import SiteFiles

        state = state_for(app.env)
        app.builder._citydiplo_site_files = SiteFiles(
            state.project, Path(app.outdir), state.vocab.content_files, lambda: state.vocab.graph
        )
    return getattr(app.builder, "_citydiplo_site_files", None)


def shown(state: State, key: str) -> str | None:
    """What a page that shows ``key`` shows of the graph now: the label of a
    link to ``id:<slug>`` or ``def:<Name>`` (None: no such entry); a digest of
    the diagram ``diagram:<kind>:<forum>``, of the map ``map:cities`` or of
    the rows a query table ``query:<name>`` shows (None: it cannot be drawn or
    run). A page is read again when one of its keys changed."""
    if key not in state.shown_cache:
        state.shown_cache[key] = _shown(state, key)
    return state.shown_cache[key]


def _shown(state: State, key: str) -> str | None:
    folder, _, name = key.partition(":")
    if folder in ("id", "def"):
        return label_of(state, key)
    view = state.view
    if folder == "diagram":
        from .diagrams import DiagramError, diagram_for

        kind, _, forum = name.partition(":")
        try:
            diagram = diagram_for(view, kind, forum or None)
        except DiagramError:
            return None
        slugs = sorted({slug for subject, _, obj in diagram.relations for slug in (subject, obj)})
        labels = [view.label(view.slugs[s]) if s in view.slugs else s for s in slugs]
        return hashlib.sha256(repr((diagram, labels)).encode()).hexdigest()
    if folder == "query":
        query = state.queries.get(name)
        try:
            variables, rows = state.answer(query) if query is not None else ([], None)
        except QueryError:
            return None
        if rows is None:
            return None
        shown_rows = [["" if value is None else str(value) for value in row] for row in rows[:QUERY_ROWS]]
        slugs = {
            value.value[len(state.project.id_ns) :]
            for row in rows[:QUERY_ROWS]
            for value in row
            if isinstance(value, NamedNode) and value.value.startswith(state.project.id_ns)
        }
        labels = sorted((slug, view.label(view.slugs[slug])) for slug in slugs if slug in view.slugs)
        return hashlib.sha256(repr((variables, shown_rows, len(rows), labels)).encode()).hexdigest()
    if folder == "map":
        return hashlib.sha256(city_map_figure(view, lambda slug: slug).encode()).hexdigest()
    return None


def kept_names(state: State) -> dict:
    """The titles and labels the last build of this output kept
    (:data:`~.collect.NAMES_FILE`) if they were made from the same inputs, else {}."""
    if state.kept is None:
        from .collect import read_kept

        state.kept = (read_kept(state.names_path, state.names_key) if state.names_path else None) or {}
    return state.kept


def kept(state: State, part: str) -> dict | None:
    """What the last build kept of ``part`` ("titles", "labels" or "forums")
    while this build has made no graph; None once it has (the graph then
    gives it) or if nothing from the same inputs was kept."""
    return kept_names(state).get(part) if state._view is None else None


def label_of(state: State, key: str) -> str | None:
    """The label of the entry ``id:<slug>`` or ``def:<Name>`` in the build
    language; None if there is no such entry. Taken from what the last build
    kept while this build has made no graph (a page that links entries, written
    again while ``vocab/`` is unchanged, then needs no rdflib graph)."""
    labels = kept(state, "labels")
    if labels is not None:
        return labels.get(key)
    from rdflib import URIRef

    view = state.view
    folder, _, name = key.partition(":")
    if folder == "id":
        node = view.slugs.get(name)
    else:
        node = URIRef(view.cd + name)
        node = node if node in view.terms else None
    return None if node is None else view.label(node)


def all_labels(view: GraphView) -> dict[str, str]:
    """Every ``id:<slug>`` and ``def:<Name>`` with its label (what :func:`label_of` gives)."""
    labels = {f"id:{slug}": view.label(node) for slug, node in view.slugs.items()}
    labels.update({f"def:{view.term_name(term)}": view.label(term) for term in view.terms})
    return labels


def note_use(env, key: str | None = None) -> None:
    """Note that the page being read shows graph data: what :func:`shown`
    gives for ``key``, or anything (no key)."""
    if not hasattr(env, "citydiplo_uses"):
        env.citydiplo_uses = {}
    seen = env.citydiplo_uses.get(env.docname, {})
    if key is None or not isinstance(seen, dict):
        env.citydiplo_uses[env.docname] = True
        return
    seen[key] = shown(state_for(env), key)
    env.citydiplo_uses[env.docname] = seen


def on_env_purge_doc(app, env, docname) -> None:
    getattr(env, "citydiplo_uses", {}).pop(docname, None)
    getattr(env, "citydiplo_bank", {}).pop(docname, None)


def on_env_merge_info(app, env, docnames, other) -> None:
    if not hasattr(env, "citydiplo_uses"):
        env.citydiplo_uses = {}
    env.citydiplo_uses.update(getattr(other, "citydiplo_uses", {}))
    env.__dict__.setdefault("citydiplo_bank", {}).update(getattr(other, "citydiplo_bank", {}))


def review_date(value, lang: str) -> str:
    """A front-matter date as a reader writes it ("22 November 2026"); anything else as it is."""
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return str(value)
    return dates.text(dates.Day(day, day, "day"), lang)


def on_doctree_read(app, doctree) -> None:
    """Show the review dates from the front matter; require them on content pages."""
    env = app.env
    docname = env.docname
    meta = env.metadata.get(docname, {})
    lang = app.config.language or "en"
    reviewed, due = meta.get("last_reviewed"), meta.get("review_due")
    if reviewed:
        label, due_label = REVIEW_TEXT.get(lang, REVIEW_TEXT["en"])
        reviewed, due = review_date(reviewed, lang), review_date(due, lang) if due else due
        text = f"{label}: {reviewed}" + (f"; {due_label}: {due}" if due else "") + "."
        para = nodes.paragraph(text, text, classes=["review-dates"])
        doctree += para
    elif any(docname.startswith(prefix) for prefix in app.config.citydiplo_require_review):
        logger.warning(
            "page has no `last_reviewed` date in its front matter",
            type="citydiplo",
            subtype="content",
            location=docname,
        )


def on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    """Entity and term pages: alternate links to their RDF, and schema.org JSON-LD.
    Translated editions: a note on pages still in the source language."""
    if app.builder.name == "html":
        from .publish import page_head

        state = state_for(app.env)
        head = page_head(state.view, pagename) if pagename.startswith(("id/", "def/")) else ""
        if head:
            context["metatags"] = context.get("metatags", "") + head
        if doctree is not None and "body" in context and not is_translated(app, state, pagename):
            source = state.project.languages[0]
            title, text = UNTRANSLATED.get(app.config.language, UNTRANSLATED["en"])
            context["body"] = (
                '<div class="admonition note citydiplo-untranslated">'
                f'<p class="admonition-title">{title}</p><p>{text}</p></div>\n'
                f'<div lang="{source}">{context["body"]}</div>'
            )


def is_translated(app, state: State, docname: str) -> bool:
    """Whether a page reads in the build language: the source language, a page
    generated from the graph (labels in every language), or a catalogue
    ``<locale_dir>/<language>/LC_MESSAGES/<docname>.po``."""
    language = app.config.language
    if language == state.project.languages[0]:
        return True
    if any(docname.startswith(folder + "/") for folder in GENERATED_DIRS):
        return True
    return any(
        (Path(app.srcdir, folder) / language / "LC_MESSAGES" / f"{docname}.po").is_file()
        for folder in app.config.locale_dirs
    )


def on_build_finished(app, exception) -> None:
    """Write each IRI's RDF files (id/<slug>.ttl, .jsonld …) and the dump (dist/) into the site."""
    pending = getattr(app.builder, "_citydiplo_site_files", None)
    if exception is not None and pending is not None:
        pending.cancel()
    if exception is None and app.builder.name == "html":
        from ..graph.export import ExportError

        state = state_for(app.env)
        try:
            (pending or start_site_files(app)).result()  # begun before Sphinx read the pages (else now)
        except ExportError as exc:
            logger.warning(f"no RDF files written: {exc}", type="citydiplo", subtype="vocab")
        from ..files import write_if_changed
        from . import events
        from .collect import unchanged

        calendar = Path(app.outdir) / "calendar.ics"
        if not (unchanged(app) and calendar.is_file()):  # else: the last build's, made of the same graph
            write_if_changed(calendar, events.calendar(events.collect(state.view), state.view))
    app.builder._citydiplo_site_files = None


# ------------------------------------------------------------------ roles
ROLE_RE = re.compile(r"^(?P<title>.*?)\s*<(?P<slug>[^<>]+)>$", re.S)


def entity_reference(env, slug: str, title: str | None = None) -> nodes.Node | None:
    known = label_of(state_for(env), f"id:{slug}")
    if known is None:
        return None
    label = title or known
    ref = addnodes.pending_xref(
        "",
        nodes.inline(label, label, classes=["entity"]),
        refdomain="std",
        reftype="doc",
        reftarget=f"/id/{slug}",
        refexplicit=True,
        refwarn=True,
        refdoc=env.docname,
    )
    return ref


class EntityRole(SphinxRole):
    """``{entity}`slug``` or ``{entity}`text <slug>```: link an entity page,
    showing its label in the build language."""

    def run(self):
        match = ROLE_RE.match(self.text)
        title, slug = (match.group("title"), match.group("slug").strip()) if match else (None, self.text.strip())
        note_use(self.env, f"id:{slug}")
        ref = entity_reference(self.env, slug, title or None)
        if ref is None:
            logger.warning(
                f"unknown entity {slug!r}: there is no cdi:{slug} in vocab/",
                type="citydiplo",
                subtype="link",
                location=self.get_location(),
            )
            return [nodes.literal(self.rawtext, slug)], []
        return [ref], []


class ProjectRole(SphinxRole):
    """``{project}`version```: a project setting from conf/citydiplo.toml as
    text. It replaces MyST substitutions, which evaluate Jinja and are off."""

    FIELDS: ClassVar[tuple[str, ...]] = ("version", "name", "base_iri", "publisher", "licence")

    def run(self):
        key = self.text.strip()
        if key not in self.FIELDS:
            logger.warning(
                f"unknown project setting {key!r} (known: {', '.join(self.FIELDS)})",
                type="citydiplo",
                subtype="content",
                location=self.get_location(),
            )
            return [nodes.literal(self.rawtext, key)], []
        state = state_for(self.env)
        return [nodes.Text(str(getattr(state.project, key)))], []


# ---------------------------------------------------------- translations
CHECKBOX = "task-list-item-checkbox"


def _checkbox(item: nodes.list_item) -> nodes.raw | None:
    """The tick box MyST puts at the start of a task-list item's first paragraph."""
    first = item.children[0] if item.children else None
    if isinstance(first, nodes.paragraph):
        for child in first.children[:1]:
            if isinstance(child, nodes.raw) and CHECKBOX in child.astext():
                return child
    return None


class KeepTaskCheckboxes(SphinxTransform):
    """Remember each task-list item's tick box before the translation replaces
    the paragraph's text (Sphinx's Locale transform, priority 20)."""

    default_priority = 19

    def apply(self, **kwargs) -> None:
        for item in self.document.findall(nodes.list_item):
            box = _checkbox(item) if "task-list-item" in item["classes"] else None
            if box is not None:
                item["citydiplo_checkbox"] = box.astext()


class RestoreTaskCheckboxes(SphinxTransform):
    """Put back the tick boxes that a translated paragraph lost."""

    default_priority = 21

    def apply(self, **kwargs) -> None:
        for item in self.document.findall(nodes.list_item):
            html = item.attributes.pop("citydiplo_checkbox", None)
            if html and _checkbox(item) is None and item.children and isinstance(item[0], nodes.paragraph):
                item[0].insert(0, nodes.raw("", html, format="html"))


# ------------------------------------------------------------- directives
#: column names that are abbreviations, kept in capitals
ACRONYMS = {"iri": "IRI", "url": "URL", "m49": "M49", "gcm": "GCM", "gcr": "GCR"}


def humanise(name: str) -> str:
    """A query variable as a column heading: ``pledgedBy`` → "Pledged by", ``version_iri`` → "Version IRI"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").lower().split()
    words = [ACRONYMS.get(w, w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def label_columns(variables: list[str]) -> dict[str, str]:
    """Which column names which: ``?orgLabel`` names ``?org``; a lone ``?label`` names the first column."""
    pairs = {}
    for v in variables:
        for suffix in ("Label", "label"):
            if v.endswith(suffix) and v[: -len(suffix)] in variables:
                pairs[v] = v[: -len(suffix)]
    if "label" in variables and "label" not in pairs and variables[0] != "label":
        pairs["label"] = variables[0]
    return pairs


#: Rows a query table shows. A longer answer (thousands of rows once the graph
#: grows) is of no use to a reader as a web page and would make the page the
#: slowest of the build; the note under the table says how to get all of it.
QUERY_ROWS = 100


def number(value: int, language: str) -> str:
    """A whole number as a reader of ``language`` writes it (1,094; German 1.094)."""
    text = f"{value:,}"
    return text.replace(",", ".") if language == "de" else text


class QueryDirective(SphinxDirective):
    """Render a query from ``vocab/queries/`` as a table of its results."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict] = {"caption": directives.unchanged}

    def run(self):
        state = state_for(self.env)
        name = self.arguments[0]
        note_use(self.env, f"query:{name}")
        query = state.queries.get(name)
        if query is None:
            logger.warning(
                f"unknown query {name!r}: there is no vocab/queries/{name}.rq",
                type="citydiplo",
                subtype="query",
                location=self.get_location(),
            )
            return []
        self.env.note_dependency(str(query.path))
        try:
            variables, rows = state.answer(query)
        except QueryError as exc:
            logger.warning(f"query {name!r}: {exc}", type="citydiplo", subtype="query", location=self.get_location())
            return []
        labels = label_columns(variables)  # a name column is the link text of the column it names, not a column
        named = {target: name for name, target in labels.items()}
        shown = [v for v in variables if v not in labels]
        table = nodes.table(classes=["citydiplo-query"])
        caption = self.options.get("caption") or (
            query.title_de if state.language == "de" and query.title_de else query.title
        )
        table += nodes.title(caption, caption)
        group = nodes.tgroup(cols=len(shown))
        table += group
        for _ in shown:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        names = state.view.strings.get("columns", {}).get(state.language, {})
        head += self.row([nodes.Text(names.get(v) or humanise(v)) for v in shown])
        body = nodes.tbody()
        group += body
        for values in rows[:QUERY_ROWS]:
            cells = dict(zip(variables, values, strict=True))
            body += self.row([self.cell(cells[v], cells.get(named[v]) if v in named else None) for v in shown])
        if not rows:
            empty = state.view.ui("no_results")
            body += self.row([nodes.Text(empty)] + [nodes.Text("") for _ in shown[1:]])
        if len(rows) <= QUERY_ROWS:
            return [table]
        note = state.view.ui("query_rows_shown").format(
            shown=number(QUERY_ROWS, state.language), total=number(len(rows), state.language)
        )
        return [table, nodes.paragraph(note, note, classes=["citydiplo-query-cut"])]

    @staticmethod
    def row(contents) -> nodes.row:
        row = nodes.row()
        for content in contents:
            entry = nodes.entry()
            para = nodes.paragraph()
            para += content
            entry += para
            row += entry
        return row

    def cell(self, term, label_term=None) -> nodes.Node:
        state = state_for(self.env)
        if term is None:
            return nodes.Text("")
        if isinstance(term, NamedNode):
            iri = term.value
            if iri.startswith(state.project.id_ns):
                slug = iri[len(state.project.id_ns) :]
                label = label_term.value if isinstance(label_term, OxLiteral) else None
                ref = entity_reference(self.env, slug, label)
                if ref is not None:
                    return ref
            view = state.view
            if view.is_term(URIRef(iri)) or iri in view.strings.get("terms", {}):
                return nodes.Text(view.label(URIRef(iri)))  # a relation or class by its name, not its address
            text = label_term.value if isinstance(label_term, OxLiteral) else iri
            return nodes.reference(text, text, refuri=iri)
        if isinstance(term, OxLiteral):
            day = dates.parse(Literal(term.value, datatype=URIRef(term.datatype.value)))
            if day is not None:  # a date as a reader writes it ("13 December 2023", "May 2026"), not ISO
                return nodes.Text(dates.text(day, state.language))
            return nodes.Text(term.value)
        return nodes.Text(str(term))


# ------------------------------------------------------------ exercise bank
#: The folder of the exercise bank, in the handbook (not built as pages)
BANK_DIR = "exercises"
#: The parts of a bank entry: "## Exercise" (the steps every module's
#: participants follow) and "## Trainer note" (the answer notes that hold in
#: every module); "## Sources" is for the authors.
BANK_PARTS = {"exercise": "Exercise", "trainer": "Trainer note"}
BANK_CLASS = "bank-common"
#: On the website, a later use of a bank exercise points to its first use
BANK_SEE = {
    "exercise": {
        "en": (
            "The steps for this exercise are the same in every module. They are written out with "
            "this exercise in the module ",
            ".",
        ),
        "de": (
            "Die Schritte dieser Übung sind in jedem Modul dieselben. Sie stehen ausführlich bei "
            "dieser Übung im Modul ",
            ".",
        ),
    },
    "trainer": {
        "en": ("The answer notes that hold in every module are with this exercise in the module ", "."),
        "de": ("Die Hinweise, die in jedem Modul gelten, stehen bei dieser Übung im Modul ", "."),
    },
}


def bank_anchor(name: str) -> str:
    return f"exercise-{name}"


def bank_part(directive: SphinxDirective, name: str, part: str) -> list[nodes.Node]:
    """The ``part`` of the bank entry ``handbook/exercises/NAME.md``, parsed
    in the page that uses it (so its messages are in that page's catalogue),
    in a container the website and the course packs show at the first use
    only (see :func:`resolve_bank` and the course-pack builder)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise directive.error(f"bank: {name!r} is not the name of an exercise-bank entry (kebab-case)")
    path = Path(directive.env.srcdir) / BANK_DIR / f"{name}.md"
    rel = f"{BANK_DIR}/{name}.md"
    if not path.is_file():
        raise directive.error(f"bank: no exercise-bank entry {rel}")
    directive.env.note_dependency(str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if lines and lines[0].strip() == "---":
        start = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    heading = f"## {BANK_PARTS[part]}"
    begin = next((i for i in range(start, len(lines)) if lines[i].strip() == heading), None)
    if begin is None:
        raise directive.error(f"bank: {rel} has no section '{heading}'")
    end = next((i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    text = StringList(lines[begin + 1 : end], source=str(path), items=[(str(path), i) for i in range(begin + 1, end)])
    container = nodes.container(classes=[BANK_CLASS])
    container["bank"] = name
    container["bank_part"] = part
    container += nested_parse_to_nodes(directive.state, text, source=str(path), offset=begin + 1)
    uses = directive.env.__dict__.setdefault("citydiplo_bank", {})
    uses.setdefault(directive.env.docname, set()).add(name)
    return [container]


def document_order(env) -> list[str]:
    """Every document, depth-first through the toctrees from the root page,
    then the rest in name order."""
    order: list[str] = []
    seen: set[str] = set()

    def walk(doc: str) -> None:
        if doc in seen or doc not in env.all_docs:
            return
        seen.add(doc)
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return order + sorted(set(env.all_docs) - seen)


def first_bank_uses(env) -> dict[str, str]:
    """Bank entry → the first document (in reading order) that uses it."""
    uses = getattr(env, "citydiplo_bank", {})
    first: dict[str, str] = {}
    for doc in document_order(env):
        for name in sorted(uses.get(doc, ())):
            first.setdefault(name, doc)
    return first


def resolve_bank(app, doctree, docname) -> None:
    """On the website (and in the e-book), a bank exercise's common text
    shows at its first use only; a later module shows its own variant and a
    link to it. The gettext builder keeps every copy (each page's catalogue
    holds the text a single-module course pack prints), and the course-pack
    builder decides for itself (it numbers the exercises and pages)."""
    if app.builder.name in ("gettext", "coursepack"):
        return
    commons = [n for n in doctree.findall(nodes.container) if BANK_CLASS in n["classes"]]
    if not commons:
        return
    env = app.env
    first = first_bank_uses(env)
    lang = app.config.language or "en"
    for node in commons:
        target = first.get(node["bank"], docname)
        if target == docname:
            continue
        module = posixpath.dirname(target)
        label_doc = f"{module}/index" if f"{module}/index" in env.titles else target
        before, after = BANK_SEE[node["bank_part"]].get(lang, BANK_SEE[node["bank_part"]]["en"])
        uri = app.builder.get_relative_uri(docname, target) + "#" + bank_anchor(node["bank"])
        para = nodes.paragraph(classes=["bank-see"])
        para += nodes.Text(before)
        para += nodes.reference("", env.titles[label_doc].astext(), refuri=uri, internal=True)
        para += nodes.Text(after)
        node.replace_self(para)
        para["classes"] = ["bank-see"]  # (replace_self copies the container's classes)


class ExerciseDirective(SphinxDirective):
    """An exercise, set apart on screen and in print. With ``:bank: NAME``
    the content is this module's variant (its city, setting and numbers) and
    the steps follow from the exercise bank (``handbook/exercises/NAME.md``)."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict] = {
        "duration": directives.unchanged,
        "name": directives.unchanged,
        "bank": directives.unchanged,
    }

    def run(self):
        duration = self.options.get("duration", "").strip()
        if duration and (self.config.language or "en") == "de":
            duration = re.sub(r"\bmin\b\.?", "Min.", duration)
        suffix = f" ({duration})" if duration else ""
        node = nodes.admonition(classes=["exercise"])
        node += admonition_title(self, EXERCISE_TITLE, suffix)
        node += self.parse_content_to_nodes()
        bank = self.options.get("bank", "").strip()
        if bank:
            node += bank_part(self, bank, "exercise")
            node["ids"].append(bank_anchor(bank))
            node["bank"] = bank
        self.add_name(node)
        return [node]


class writing_space(nodes.General, nodes.Element):
    """Room to write an answer on paper: ``lines`` ruled lines. Screens show
    nothing (see :func:`skip_writing_space`); the participant edition of a
    course pack prints the lines (:mod:`citydiplo.print.builder`)."""


#: The most lines one writing space may ask for (about half a page)
WRITING_SPACE_MAX = 16


class WritingSpaceDirective(SphinxDirective):
    """``:::{writing-space} 3``: lines to write an answer on, in the printed
    participant edition only (a knowledge check's open question, a reason
    for a true-or-false answer). The argument is the number of lines,
    1 to 16; without it, 3."""

    optional_arguments = 1
    has_content = False

    def run(self):
        lines = 3
        if self.arguments:
            text = self.arguments[0].strip()
            if not text.isdigit() or not 1 <= int(text) <= WRITING_SPACE_MAX:
                raise self.error(
                    f"writing-space: the argument is a number of lines from 1 to {WRITING_SPACE_MAX}, not {text!r}"
                )
            lines = int(text)
        node = writing_space(lines=lines)
        self.set_source_info(node)
        return [node]


#: The list class that makes a task list a knowledge check's options
KNOWLEDGE_CHECK = "knowledge-check"


class KnowledgeCheckOptions(SphinxPostTransform):
    """A task list marked ``{.knowledge-check}`` holds a question's options,
    not tasks: its items are ``knowledge-check-option`` instead of
    ``task-list-item``, so that nothing made for checklists (fields for who
    and by when, ticks remembered in the browser) takes them for tasks. The
    tick boxes stay, on screen and on paper."""

    default_priority = 510

    def run(self, **kwargs) -> None:
        for task_list in self.document.findall(nodes.bullet_list):
            if KNOWLEDGE_CHECK not in task_list["classes"]:
                continue
            for item in task_list.children:
                if isinstance(item, nodes.list_item) and "task-list-item" in item["classes"]:
                    item["classes"].remove("task-list-item")
                    item["classes"].append("knowledge-check-option")


def skip_writing_space(self, node) -> None:
    """On screen, in an e-book and in any other output: nothing (the lines are for paper)."""
    raise nodes.SkipNode


#: Class of the element that holds the name in an exercise or trainer-note title
TITLE_NAME = "citydiplo-title-name"


def admonition_title(directive: SphinxDirective, prefixes: dict[str, str], suffix: str = "") -> nodes.title:
    """The title "Exercise: <name> (45 min)" in the build language. Only the
    name given in the page is a message for translators; the word before it
    comes from ``prefixes``, so a translated page shows "Übung: <German name>"."""
    lang = directive.config.language or "en"
    prefix = prefixes.get(lang, prefixes["en"])
    title = nodes.title("", "", translatable=False)
    if directive.arguments:
        name = directive.arguments[0]
        inline = nodes.inline(name, name, translatable=True, classes=[TITLE_NAME])
        directive.set_source_info(inline)
        title += [nodes.Text(f"{prefix}: "), inline]
    else:
        title += nodes.Text(prefix)
    if suffix:
        title += nodes.Text(suffix)
    return title


class UnwrapTitleNames(SphinxTransform):
    """Once translated, the name in an exercise or trainer-note title needs no
    element of its own: keep its text, in place. (Sphinx's own clean-up,
    RemoveTranslatableInline at priority 999, would move it to the end of the
    title.) The gettext builder keeps the element: it is what makes the name a
    message."""

    default_priority = 900

    def apply(self, **kwargs) -> None:
        if self.app.builder.name == "gettext":
            return
        for inline in list(self.document.findall(nodes.inline)):
            if TITLE_NAME in inline["classes"]:
                parent = inline.parent
                at = parent.index(inline)
                parent[at : at + 1] = [child.deepcopy() for child in inline.children]


class TrainerNoteDirective(SphinxDirective):
    """Answer notes and hints for trainers: shown only in the trainer edition.
    With ``:bank: NAME``, the answer notes of the exercise-bank entry that
    hold in every module follow this module's own."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict] = {"bank": directives.unchanged}

    def run(self):
        if self.config.citydiplo_edition != "trainer":
            return []
        node = nodes.admonition(classes=["trainer-note"])
        node += admonition_title(self, TRAINER_TITLE)
        node += self.parse_content_to_nodes()
        bank = self.options.get("bank", "").strip()
        if bank:
            node += bank_part(self, bank, "trainer")
        return [node]


class FacilitatorNoteDirective(SphinxDirective):
    """The facilitator's script for one session of a module: purpose, key
    messages, what to say and show, questions to ask, timing, and how to
    adapt it for a shorter or an online session. Shown only in the trainer
    edition; written on the page the session uses, with the session's number
    from the module's session table (``:::{facilitator-note} 3``)."""

    has_content = True
    required_arguments = 1
    option_spec: ClassVar[dict] = {"minutes": directives.positive_int}

    def run(self):
        number = self.arguments[0].strip()
        if not number.isdigit() or int(number) < 1:
            raise self.error(f"facilitator-note: the argument is the session's number, not {number!r}")
        lang = self.config.language or "en"
        minutes = self.options.get("minutes")
        body = self.parse_content_to_nodes()
        self.check_parts(body)
        if self.config.citydiplo_edition != "trainer":
            return []
        node = nodes.admonition(classes=["trainer-note", "facilitator-note"])
        node["session"] = int(number)
        title = nodes.title("", "", translatable=False)
        text = f"{FACILITATOR_TITLE.get(lang, FACILITATOR_TITLE['en'])}: {SESSION_WORD.get(lang, 'session')} {number}"
        if minutes:
            text += f" ({minutes} {'Min.' if lang == 'de' else 'min'})"
        title += nodes.Text(text)
        node += title
        node += body
        self.add_name(node)
        return [node]

    def check_parts(self, body: list[nodes.Node]) -> None:
        """Every part present, in order, and 3–5 key messages; else a warning
        (an error under -W) at the directive's line."""
        found: list[str] = []
        key_messages = None
        for at, child in enumerate(body):
            if not isinstance(child, nodes.paragraph):
                continue
            first = next((part for part in child.children if part.astext().strip()), None)
            if not isinstance(first, nodes.strong):
                continue
            name = first.astext().strip().rstrip(".:").strip()
            if name in FACILITATOR_PARTS:
                found.append(name)
                if name == "Key messages":
                    following = body[at + 1] if at + 1 < len(body) else None
                    if isinstance(following, (nodes.bullet_list, nodes.enumerated_list)):
                        following["classes"].append("key-messages")
                        key_messages = len(following.children)
                    else:
                        key_messages = 0
        missing = [part for part in FACILITATOR_PARTS if part not in found]
        problems = []
        if missing:
            problems.append("missing " + ", ".join(f"**{part}.**" for part in missing))
        elif found != [part for part in FACILITATOR_PARTS if part in found]:
            problems.append("parts out of order; write " + ", ".join(FACILITATOR_PARTS))
        low, high = KEY_MESSAGES
        if key_messages is not None and not low <= key_messages <= high:
            problems.append(f"{key_messages} key messages (a list of {low} to {high} after **Key messages.**)")
        if problems:
            logger.warning(
                "facilitator-note %s: %s", self.arguments[0], "; ".join(problems), location=self.get_location()
            )


class city_map(nodes.General, nodes.Element):
    """Where the map of the cities goes; replaced by its SVG once the builder
    knows each entity page's address (:func:`on_doctree_resolved`)."""


class CityMapDirective(SphinxDirective):
    """``city-map``: the map of the cities (:mod:`citydiplo.site.citymap`)."""

    has_content = False

    def run(self):
        note_use(self.env, "map:cities")
        return [city_map()]


def on_doctree_resolved(app, doctree, docname) -> None:
    """Draw each map with links the current builder resolves; builders other
    than the website's get nothing (the EPUB would have to declare inline SVG
    in its manifest, and the directory table below the map lists every city
    anyway)."""
    maps = list(doctree.findall(city_map))
    if not maps:
        return
    state = state_for(app.env)
    html = ""
    if app.builder.format == "html" and not app.builder.name.startswith("epub"):
        html = city_map_figure(state.view, lambda slug: app.builder.get_relative_uri(docname, f"id/{slug}"))
    for node in maps:
        node.replace_self(nodes.raw("", html, format="html") if html else [])


def _skip(self, node):
    raise nodes.SkipNode


# ---------------------------------------------------------------- diagrams
class forum_diagram(nodes.General, nodes.Element):
    """A diagram drawn from the graph (:mod:`citydiplo.site.diagrams`); its
    SVG is written by the HTML visitor, with links that fit the builder."""


class ForumDiagramDirective(SphinxDirective):
    """``:::{forum-diagram} architecture`` or ``:::{forum-diagram} routes gfmd``:
    the forum architecture or one forum's access routes, drawn from the graph
    as SVG, each box a link to its entry, with the relations as a list under it."""

    required_arguments = 1
    optional_arguments = 1
    has_content = False

    def run(self):
        from .diagrams import DiagramError, diagram_for

        state = state_for(self.env)
        kind = self.arguments[0].strip()
        forum = self.arguments[1].strip() if len(self.arguments) > 1 else None
        note_use(self.env, f"diagram:{kind}:{forum or ''}")
        try:
            diagram = diagram_for(state.view, kind, forum)
        except DiagramError as exc:
            logger.warning(f"forum-diagram: {exc}", type="citydiplo", subtype="content", location=self.get_location())
            return []
        figure = nodes.container(classes=["forum-diagram"])
        figure["diagram"] = diagram.key
        # ids unique on the page, and in a course pack that holds several pages
        where = re.sub(r"[^A-Za-z0-9]+", "-", self.env.docname).strip("-")
        serial = self.env.new_serialno("forum-diagram")
        drawing = forum_diagram(kind=kind, forum=forum or "", id_prefix=f"cd-diagram-{where}-{serial}")
        figure += drawing
        heading = nodes.paragraph("", "", classes=["forum-diagram-list-title"])
        heading += nodes.strong("", state.view.ui("diagram_list"))
        figure += heading
        items = nodes.bullet_list(classes=["forum-diagram-list"])
        for subject, words, obj in diagram.relations:
            para = nodes.paragraph()
            para += entity_reference(self.env, subject) or nodes.Text(subject)
            para += nodes.Text(f" — {words} → ")
            para += entity_reference(self.env, obj) or nodes.Text(obj)
            item = nodes.list_item()
            item += para
            items += item
        figure += items
        return [figure]


def visit_forum_diagram_html(translator, node) -> None:
    from .diagrams import diagram_for, render_svg

    builder = translator.builder
    state = state_for(builder.env)
    diagram = diagram_for(state.view, node["kind"], node["forum"] or None)
    if builder.name == "coursepack":

        def href(slug: str) -> str:  # the pack links entities at their IRI
            return state.project.id_ns + slug
    else:
        current = getattr(builder, "current_docname", None) or builder.env.docname

        def href(slug: str) -> str:
            return builder.get_relative_uri(current, f"id/{slug}")

    from ..escape import html_attr

    svg = render_svg(diagram, href, id_prefix=node["id_prefix"])
    if builder.name.startswith("epub"):
        # EPUB 3 holds SVG 1.1, whose links are xlink:href (the book's manifest
        # marks the page as holding SVG: citydiplo.print.builder.EpubBuilder)
        svg = svg.replace(
            ' xmlns="http://www.w3.org/2000/svg" ',
            ' xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ',
            1,
        )
        svg = svg.replace('<a href="', '<a xlink:href="')
    spots = ""
    if builder.name == "coursepack":
        # WeasyPrint draws no links inside an SVG: a link laid over each box
        # makes it one in the PDF. Its target, the entity's IRI, is outside
        # the pack; the list under the drawing prints it (the pack's link policy)
        spots = "".join(
            f'<a class="forum-diagram-spot" href="{html_attr(href(box.slug))}" title="{html_attr(box.label)}" '
            f'style="left: {_pct(box.x, diagram.width)}; top: {_pct(box.y, diagram.height)}; '
            f'width: {_pct(box.w, diagram.width)}; height: {_pct(box.h, diagram.height)}"></a>'
            for box in diagram.boxes
        )
        # the drawing and its links in one box of the drawing's proportions
        ratio = f"{100 * diagram.height / diagram.width:.3f}%"
        svg = f'<div class="forum-diagram-frame" style="padding-bottom: {ratio}">{svg}{spots}</div>'
        spots = ""
    translator.body.append(
        f'<div class="forum-diagram-scroll" tabindex="0" role="region" aria-label="{html_attr(diagram.title)}">'
        f"{svg}{spots}</div>\n"
    )
    raise nodes.SkipNode


def _pct(value: float, whole: float) -> str:
    return f"{100 * value / whole:.3f}%"


def skip_node(translator, node) -> None:
    raise nodes.SkipNode


def setup(app):
    app.add_config_value("citydiplo_root", None, "env", types=[str, type(None)])
    app.add_config_value("citydiplo_edition", "participant", "env", types=[str])
    app.add_config_value("citydiplo_compile", True, "env", types=[bool])
    app.add_config_value("citydiplo_validate", True, "env", types=[bool])
    app.add_config_value(
        "citydiplo_require_review", ["modules/", "how-to/", "explanation/", "about/"], "env", types=[list]
    )
    app.add_role("entity", EntityRole())
    app.add_role("project", ProjectRole())
    app.add_directive("query", QueryDirective)
    app.add_directive("exercise", ExerciseDirective)
    app.add_directive("trainer-note", TrainerNoteDirective)
    app.add_directive("facilitator-note", FacilitatorNoteDirective)
    app.add_directive("city-map", CityMapDirective)
    app.add_node(city_map, **{fmt: (_skip, None) for fmt in ("html", "latex", "text", "man", "texinfo")})
    app.add_node(
        forum_diagram,
        html=(visit_forum_diagram_html, None),
        latex=(skip_node, None),
        text=(skip_node, None),
        man=(skip_node, None),
        texinfo=(skip_node, None),
    )
    app.add_directive("forum-diagram", ForumDiagramDirective)
    app.add_transform(KeepTaskCheckboxes)
    app.add_transform(RestoreTaskCheckboxes)
    app.add_transform(UnwrapTitleNames)
    skip = (skip_writing_space, None)
    app.add_node(writing_space, html=skip, latex=skip, text=skip, man=skip, texinfo=skip)
    app.add_directive("writing-space", WritingSpaceDirective)
    app.add_post_transform(KnowledgeCheckOptions)
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.connect("doctree-read", on_doctree_read)
    app.connect("html-page-context", on_html_page_context)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("doctree-resolved", resolve_bank)
    app.connect("build-finished", on_build_finished)
    setup_checks(app)
    from . import collect

    collect.setup(app)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 5}
