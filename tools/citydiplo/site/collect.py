"""The ``collect`` route: entity and term pages written by Sphinx without a source.

Entity (``id/<slug>``) and term (``def/<Name>``) pages are data put into a
template; parsing them as MyST through docutils is most of the cost of a build
at thousands of entities. On this route (``citydiplo_entity_route = "collect"``
in ``conf/conf.py``; the default is ``"myst"``, the generated MyST pages) they
are rendered from ``templates/html/`` straight into HTML and handed to Sphinx
through the ``html-collect-pages`` event, the way Sphinx writes ``genindex`` and
``search``: each page gets the theme's page layout (``page.html``: furo, the
navigation, the breadcrumbs, the Pagefind body and filters of
:mod:`citydiplo.site.theme`).

What stays checked:

- ``{entity}`slug` `` in prose: an unknown slug is a warning (an error under
  ``-W``), as before; a known one is a ``pending_xref`` that
  :func:`on_missing_reference` resolves to the page's address;
- the other generated MyST pages (directories, glossary, timeline …) link
  entity and term pages with ``{entity}`` and ``{vocab-term}`` roles
  (:class:`~citydiplo.site.compile.Compiler` with ``links="role"``);
- links from entity pages to other pages are relative links between pages of
  this route, made from the graph (slugs checked by :mod:`citydiplo.paths`);
- every value is printed through :func:`citydiplo.escape.html_finalize`.

Only the ``html`` builder takes this route; other builders (EPUB, course packs,
gettext) keep the MyST pages.

**Incremental.** A page is handed to Sphinx only when what it shows changed:
the hash of its body, title and head, and of everything around it that the
layout shows (the titles and toctrees of all documents, the configuration, the
templates), is kept in ``<outdir>/.citydiplo-pages.json``; a page whose hash
is unchanged and whose file is in the output is not written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from docutils import nodes
from rdflib import BNode, URIRef
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

from ..escape import SLUG, TERM_NAME, Html, html_code, html_finalize, html_inline, html_join, html_text, myst_ident
from ..files import write_if_changed
from ..graph.load import fingerprint
from ..graph.views import GraphView
from .compile import Compiler, ucfirst

logger = logging.getLogger(__name__)

ROUTES = ("myst", "collect")
#: Where the hashes of the pages written on this route are kept (in the output).
MANIFEST = ".citydiplo-pages.json"
#: Raised by Sphinx's page writer for a page's title permalink ("Link to this heading").
PERMALINK = {"en": "Link to this heading", "de": "Link zu dieser Überschrift"}


@dataclass
class Page:
    """One page of this route: its name (``id/<slug>``), title, body and what the theme needs."""

    name: str
    title: str
    body: str
    description: str
    toc: str
    names: list[str] = field(default_factory=list)

    def digest(self, around: str) -> str:
        data = json.dumps([around, self.name, self.title, self.body, self.description, self.toc], ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()


class Ids:
    """Section ids of one page, unique, made the way docutils makes them."""

    def __init__(self, permalink: str = PERMALINK["en"]):
        self.permalink = permalink
        self.used: set[str] = set()
        self.last = ""
        self.sections: list[tuple[str, str]] = []

    def make(self, title) -> str:
        base = nodes.make_id(str(title)) or "section"
        name, n = base, 0
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        self.last = name
        self.sections.append((name, str(title)))
        return name

    def heading(self, title) -> Html:
        """A section's start and its heading (level 2), with its permalink."""
        text = html_inline(title)
        name = self.make(text)
        return Html(
            f'<section id="{name}">\n<h2>{text}<a class="headerlink" href="#{name}" '
            f'title="{html_text(self.permalink)}">¶</a></h2>'
        )


def environment(highlight) -> jinja2.Environment:
    """The HTML page templates' environment: every printed value goes through
    :func:`~citydiplo.escape.html_finalize`; ``highlight(code, language)`` is
    Sphinx's highlighter (it escapes the code)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("citydiplo.site", "templates/html"),
        autoescape=False,
        finalize=html_finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["h"] = html_inline
    env.filters["ucfirst"] = ucfirst
    env.filters["join"] = html_join
    env.filters["ident"] = myst_ident
    env.filters["code"] = html_code
    env.filters["anchor"] = nodes.make_id
    env.filters["highlight"] = lambda code, lang: Html(highlight(str(code), lang))
    return env


def plain_highlight(code: str, lang: str) -> str:
    return f'<div class="highlight"><pre><span></span>{html_text(code)}</pre></div>\n'


def toc_html(title: str, sections: list[tuple[str, str]]) -> str:
    """The page's table of contents as Sphinx gives it to the theme (``toc``)."""
    items = "".join(f'<li><a class="reference internal" href="#{html_text(i)}">{t}</a></li>\n' for i, t in sections[1:])
    inner = f"<ul>\n{items}</ul>\n" if items else ""
    return f'<ul>\n<li><a class="reference internal" href="#">{title}</a>{inner}</li>\n</ul>\n'


def text_of(markup: str) -> str:
    import html

    return html.unescape(_TAG.sub("", markup))


def description_of(text: str, limit: int = 160) -> str:
    """The page's description: its definition, cut like :func:`citydiplo.site.theme.first_paragraph`."""
    text = " ".join(str(text).split())
    if len(text) < 40:
        return ""
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


_TAG = re.compile(r"(<[^>]+>)")
#: Elements whose text Sphinx's SmartQuotes transform treats as one run (a
#: docutils TextElement); quotes are curled in context within each.
_BLOCK = re.compile(r"^</?(p|dt|h1|h2|li|div|section|dl|dd|ul|pre)\b")


#: What SmartQuotes changes in a text under the actions q, d, D and e: quotes,
#: backslash escapes, double hyphens and ellipses ("..." or ". . ."). A run of
#: text without them comes back unchanged, so it is not handed to docutils.
_EDUCABLE = re.compile(r"""['"\\`]|--|\.\.|\. \.""")


def smarten(markup: str, language: str, action: str = "qDe") -> str:
    """Curl quotes, make dashes and ellipses in HTML text as Sphinx's SmartQuotes
    transform does on a parsed page (``smartquotes_action``), leaving tags, code
    and preformatted text as they are."""
    from docutils.utils.smartquotes import educate_tokens

    tokens = _TAG.split(markup)  # text, tag, text, tag …, text
    quick = set(action) <= set("qDde")
    if quick and not _EDUCABLE.search("\0".join(tokens[::2])):
        return markup  # no text to curl (most pages)
    out: list[str] = []
    run: list[tuple[str, str]] = []
    literal = 0

    def flush():
        if quick and not any(kind == "plain" and _EDUCABLE.search(text) for kind, text in run):
            out.extend(text for _kind, text in run)  # nothing to curl: educate_tokens would return it as it is
        else:
            out.extend(educate_tokens(run, attr=action, language=language))
        run.clear()

    for token in tokens:
        if token.startswith("<"):
            if _BLOCK.match(token):
                flush()
            name = token[1:].lstrip("/").split(" ", 1)[0].rstrip(">")
            if name in ("code", "pre"):
                literal += -1 if token.startswith("</") else 1
            run.append(("tag", token))
        elif token:
            run.append(("literal" if literal else "plain", token))
    flush()
    return "".join(out)


def same_folder(markup: str, folder: str) -> str:
    """Links from a page in ``folder`` to pages in the same folder without the
    detour (``../id/x.html`` → ``x.html``), as Sphinx writes them; only in
    ``<a>`` tags (text never holds a raw ``<``)."""
    return re.sub(r'(<a [^>]*?href=")\.\./' + folder + "/", r"\1", markup)


def render_pages(
    view: GraphView, highlight=plain_highlight, smartquotes: str | None = "qDe", only: set[str] | None = None
) -> dict[str, Page]:
    """Every entity and term page of ``view`` as HTML, by page name; with
    ``smartquotes`` (Sphinx's ``smartquotes_action``, or None) quotes are curled.
    ``only``: the entity pages to render (``id/<slug>``; term pages are always rendered)."""

    def smart(markup: str) -> str:
        return Html(smarten(markup, view.lang, smartquotes)) if smartquotes else markup

    compiler = Compiler(view)
    env = environment(highlight)
    lang = view.lang

    def ui(key: str) -> Html:
        return Html(html_text(view.ui(key)))

    from sphinx.locale import admonitionlabels

    common = {
        "ui": ui,
        "permalink": PERMALINK.get(lang, PERMALINK["en"]),
        "warning": str(admonitionlabels["warning"]),
    }
    pages: dict[str, Page] = {}
    # folder, template, its name for the context, the nodes, their context, the context key and rule of the file name
    kinds = (
        ("id", "entity.html.j2", "e", view.entities, compiler.entity_context, "slug", SLUG),
        ("def", "term.html.j2", "t", view.terms, compiler.term_context, "name", TERM_NAME),
    )
    for folder, template_name, var, nodes_, context_of, key, rule in kinds:
        template = env.get_template(template_name)
        for node in nodes_:
            if only is not None and folder == "id" and f"id/{view.slug(node)}" not in only:
                continue
            ctx = context_of(node)
            ids = Ids(common["permalink"])
            body = same_folder(smart(template.render({var: ctx, "ids": ids, **common})), folder)
            name = f"{folder}/{myst_ident(ctx[key], rule)}"
            title = smart(html_inline(ctx["label"]))
            description = description_of(text_of(smart(html_inline(ctx["definition"]))))
            pages[name] = Page(name, title, body, description, smart(toc_html(title, ids.sections)))
    return pages


# ---------------------------------------------------------------- Sphinx
def route(app) -> str:
    """The route this build takes: ``collect`` only for the website builder."""
    chosen = app.config.citydiplo_entity_route
    return chosen if app.builder.name == "html" else "myst"


def pages_for(app, only: set[str] | None = None) -> dict[str, Page]:
    """This build's pages (rendered once, on first use, in the main process);
    ``only``: see :func:`render_pages`."""
    from .sphinxext import state_for

    state = state_for(app.env)
    if state.collected is None:
        highlighter = getattr(app.builder, "highlighter", None)
        highlight = (
            (lambda code, lang: highlighter.highlight_block(code, lang, linenos=False))
            if highlighter is not None
            else plain_highlight
        )
        state.collected = render_pages(state.view, highlight, smartquotes_action(app), only)
    return state.collected


def smartquotes_action(app) -> str | None:
    """Sphinx's ``smartquotes_action`` if this build curls quotes, else None."""
    config = app.config
    excluded = config.smartquotes_excludes or {}
    on = (
        config.smartquotes
        and app.builder.name not in excluded.get("builders", [])
        and (config.language or "en") not in excluded.get("languages", [])
    )
    return config.smartquotes_action if on else None


def titles_for(app) -> dict[str, str]:
    """The titles (text) of this build's pages, without rendering the pages
    (the theme needs them on every page, also in parallel writers).

    While this build has made no graph, they are taken from what the last
    build kept (:data:`NAMES_FILE`) if it made them from the same inputs: a
    rebuild that writes prose pages but changed nothing in ``vocab/`` then
    makes no rdflib graph (≈ 1.3 s of a 6 s rebuild at 5,000 entities)."""
    from .sphinxext import kept, state_for

    state = state_for(app.env)
    if state.collected_titles is None:
        titles = kept(state, "titles")
        if titles is None:
            view, action = state.view, smartquotes_action(app)

            def title(node) -> str:
                text = html_inline(view.label(node))
                return text_of(smarten(text, view.lang, action) if action else text)

            titles = {f"id/{view.slug(node)}": title(node) for node in view.entities}
            titles.update({f"def/{view.term_name(term)}": title(term) for term in view.terms})
        state.collected_titles = titles
    return state.collected_titles


#: Kept with the doctrees of a website build: the titles of this route's pages
#: (:func:`titles_for`), the labels of all entries (:func:`~.sphinxext.label_of`)
#: and the forums' labels for the search filters of modules
#: (:func:`~.theme.forum_of_module`), under the digest of what they are made of
#: (:func:`names_key`).
NAMES_FILE = "citydiplo-names.json"


def names_key(app) -> str:
    """What the kept titles and labels are made of: every file of ``vocab/``
    (with the edition and the language: the state's ``vocab_hash``), the
    project's settings, this package's code and whether quotes are curled."""
    from ..files import code_digest
    from .sphinxext import state_for

    state = state_for(app.env)
    digest = hashlib.sha256(json.dumps([state.vocab_hash, code_digest(), smartquotes_action(app)]).encode())
    digest.update(state.project.settings_bytes())
    return digest.hexdigest()


def read_kept(path: Path, key: str) -> dict | None:
    """The titles and labels kept at ``path`` if they were made from ``key``, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    parts = {name: data.get(name) for name in ("titles", "labels", "forums")}
    for part in parts.values():
        if not isinstance(part, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in part.items()):
            return None
    return parts


def keep_names(app) -> None:
    """Keep the titles and labels for the next build (in the main process, at
    the end of a build that made the graph), unless a file of ``vocab/``
    changed since it was read: the key is of the files as they are now."""
    from .sphinxext import all_labels, kept_names, state_for

    state = state_for(app.env)
    if state.names_path is None or state._view is None or not state.vocab.stamp:
        return
    if kept_names(state) or fingerprint(state.project) != state.vocab.stamp:
        return  # kept from the same inputs already, or a file changed meanwhile
    from .theme import all_module_forums

    view = state.view
    data = {"key": state.names_key, "titles": titles_for(app), "labels": all_labels(view)}
    data["forums"] = all_module_forums(view, state.language)
    write_if_changed(state.names_path, json.dumps(data, sort_keys=True, ensure_ascii=False, indent=0))


def collected_names(app) -> set[str]:
    """The names of the pages this build has on this route (after they are
    collected, without the graph when nothing changed)."""
    if route(app) != "collect":
        return set()
    if unchanged(app):
        return set(getattr(app.builder, "_citydiplo_manifest", {}))
    return set(titles_for(app))


def collected(app, pagename: str) -> Page | None:
    """The page of this route named ``pagename``, if this build writes one."""
    if not is_collected(app, pagename):
        return None
    return pages_for(app).get(pagename)


def is_collected(app, pagename: str) -> bool:
    """Whether this build writes ``pagename`` on this route (without rendering the pages)."""
    return route(app) == "collect" and pagename.startswith(("id/", "def/")) and pagename in titles_for(app)


def around_digest(app) -> str:
    """What the layout around a page shows, besides the page: the titles and
    toctrees of all documents (the navigation), the configuration, the
    templates and this package's code."""
    env = app.env
    digest = hashlib.sha256()
    digest.update(getattr(app.builder, "config_hash", "").encode())
    digest.update(repr(sorted(app.config.html_theme_options.items())).encode())
    for doc in sorted(env.titles):
        digest.update(f"{doc}\0{env.titles[doc].astext()}\0".encode())
    for doc in sorted(env.toctree_includes):
        digest.update(f"{doc}\0{env.toctree_includes[doc]!r}\0".encode())
    folders = [Path(app.confdir, p) for p in app.config.templates_path] + [Path(__file__).parent]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".html", ".j2", ".py", ".css", ".js", ".toml"):
                # relative: the same project in another folder gives the same digests
                digest.update(path.relative_to(folder).as_posix().encode())
                digest.update(path.read_bytes())
    for folder in [Path(app.confdir, p) for p in app.config.html_static_path]:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


#: The manifest's entry for everything the pages are made from (not a page).
INPUTS_KEY = "#inputs"
#: ... for everything but ``vocab/`` (the layout, the code, the settings).
LAYOUT_KEY = "#layout"
#: ... for what each subject of the graph says (:func:`graph_blocks`).
BLOCKS_KEY = "#blocks"
#: The entries of the manifest that are not pages.
NOT_PAGES = (INPUTS_KEY, LAYOUT_KEY, BLOCKS_KEY)


def graph_blocks(view: GraphView) -> dict[str, list]:
    """What each subject of the graph says: ``{owner: [digest, [pages it mentions]]}``.

    A subject's block is its triples and those of the blank nodes they lead to
    (a membership, a role, an access option); the owner is the page name of an
    entity (``id/<slug>``) or of a term (``def/<Name>``), else the IRI. An
    entity page shows its own block, the blocks that mention it (the links
    into it) and, of every entry those mention, what that entry's block says
    (its label, its kind). :func:`pages_to_render` works back from the blocks
    that changed to the pages that may show them.
    """
    graph = view.graph
    id_ns, cd = view.project.id_ns, view.cd

    def page(node) -> str | None:
        text = str(node)
        if text.startswith(id_ns):
            return "id/" + text[len(id_ns) :]
        if text.startswith(cd):
            return "def/" + text[len(cd) :]
        return None

    def text_of(node, seen: frozenset, mentions: set) -> str:
        parts = []
        for prop, value in graph.predicate_objects(node):
            if isinstance(value, BNode):
                shown = "[]" if value in seen else "[" + text_of(value, seen | {value}, mentions) + "]"
            else:
                shown = value.n3()
                name = page(value) if isinstance(value, URIRef) else None
                if name is not None:
                    mentions.add(name)
            parts.append(prop.n3() + " " + shown)
        return " ; ".join(sorted(parts))

    blocks: dict[str, list] = {}
    for subject in set(graph.subjects()):
        if isinstance(subject, BNode):
            continue
        mentions: set[str] = set()
        text = text_of(subject, frozenset(), mentions)
        owner = page(subject) or str(subject)
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        blocks[owner] = [digest, sorted(mentions - {owner})]
    return blocks


def pages_to_render(old: dict, new: dict) -> set[str] | None:
    """The entity pages that may show something of the blocks that differ
    between ``old`` and ``new`` (:func:`graph_blocks`): the owner of a changed
    block, what it mentions (before and after), the blocks that mention it and
    what those mention. None (render every page) when a block that is not an
    entity's changed (a term, the ontology: every page shows their labels)."""

    def entry(blocks: dict, owner: str) -> tuple[str | None, list]:
        found = blocks.get(owner)  # the old manifest is read from disk: anything but [digest, [names]] is "changed"
        if isinstance(found, list) and len(found) == 2 and isinstance(found[1], list):
            return found[0], [name for name in found[1] if isinstance(name, str)]
        return None, []

    changed = {owner for owner in old.keys() | new.keys() if entry(old, owner)[0] != entry(new, owner)[0]}
    if any(not owner.startswith("id/") for owner in changed):
        return None
    mentioned_by: dict[str, set[str]] = {}
    for owner, (_digest, mentions) in new.items():
        for name in mentions:
            mentioned_by.setdefault(name, set()).add(owner)
    pages: set[str] = set()
    for owner in changed:
        pages.add(owner)
        for blocks in (old, new):
            pages.update(entry(blocks, owner)[1])
        for other in mentioned_by.get(owner, ()):
            pages.add(other)
            pages.update(new[other][1])
    return pages


def read_manifest(outdir: Path) -> dict[str, str]:
    """The pages' digests the last build wrote (with :data:`INPUTS_KEY`)."""
    try:
        data = json.loads((outdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def layout_digest(app, around: str) -> str:
    """What every page of this route is made from besides ``vocab/``: the
    layout around the pages, the code, the settings and whether quotes are curled."""
    from .. import files
    from .sphinxext import state_for

    state = state_for(app.env)
    settings = hashlib.sha256(state.project.settings_bytes()).hexdigest()
    key = [around, files.code_digest(), settings, str(smartquotes_action(app)), state.language, state.edition]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def inputs_digest(app, layout: str) -> str:
    """What every page of this route is made from: ``vocab/`` (its files'
    bytes, the edition and language) and the ``layout`` (:func:`layout_digest`).
    Unchanged, no page can have changed."""
    from .sphinxext import state_for

    key = [state_for(app.env).vocab_hash, layout]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def unchanged(app) -> bool:
    """Whether this build found that nothing the pages of this route are made
    of has changed since the last build (known once the pages are collected):
    what else is made only of the graph and the layout (the name table, the
    calendar) is then kept as the last build wrote it."""
    return bool(getattr(app.builder, "_citydiplo_unchanged", False))


def on_collect_pages(app):
    """Hand Sphinx the pages whose hash changed (``html-collect-pages``)."""
    if route(app) != "collect":
        return
    outdir = Path(app.outdir)
    around = around_digest(app)
    old = read_manifest(outdir)
    layout = layout_digest(app, around)
    inputs = inputs_digest(app, layout)
    kept = {name: digest for name, digest in old.items() if name not in NOT_PAGES}
    if old.get(INPUTS_KEY) == inputs and all((outdir / f"{name}.html").is_file() for name in kept):
        # nothing they are made from changed: no page is rendered (a no-change rebuild)
        app.builder._citydiplo_manifest = kept
        app.builder._citydiplo_inputs = inputs
        app.builder._citydiplo_extra = {name: old[name] for name in (LAYOUT_KEY, BLOCKS_KEY) if name in old}
        app.builder._citydiplo_unchanged = True
        logger.info(f"citydiplo: 0 entity and term page(s) written, {len(kept)} unchanged")
        return
    from .publish import page_head
    from .sphinxext import state_for

    view = state_for(app.env).view
    blocks = graph_blocks(view)
    only = None
    if old.get(LAYOUT_KEY) == layout and isinstance(old.get(BLOCKS_KEY), dict):
        # only vocab/ changed: the entity pages that may show what changed, and any without its file
        only = pages_to_render(old[BLOCKS_KEY], blocks)
        if only is not None:
            only |= {name for name in titles_for(app) if name not in old or not (outdir / f"{name}.html").is_file()}
    pages = pages_for(app, only)
    new: dict[str, str] = {}
    todo: list[tuple[str, dict]] = []
    for name in sorted(set(pages) | (set(titles_for(app)) & old.keys())):
        page = pages.get(name)
        if page is None:  # not rendered: nothing it shows changed (its file is there, see above)
            new[name] = old[name]
            continue
        digest = page.digest(around + page_head(view, name))
        new[name] = digest
        if old.get(name) == digest and (outdir / f"{name}.html").is_file():
            continue
        todo.append((name, {"title": page.title, "body": page.body, "cd_toc": page.toc, "meta": {}}))
    app.builder._citydiplo_manifest = new
    app.builder._citydiplo_inputs = inputs
    app.builder._citydiplo_extra = {LAYOUT_KEY: layout, BLOCKS_KEY: blocks}
    processes = writers(app, len(todo))
    if processes > 1:
        write_in_parallel(app, todo, processes)
    else:
        for name, context in todo:
            yield name, context, "page.html"
    logger.info(
        f"citydiplo: {len(todo)} entity and term page(s) written, {len(new) - len(todo)} unchanged"
        + (f" ({len(new) - len(pages)} not rendered: nothing they show changed)" if len(pages) < len(new) else "")
    )


#: Below this many pages to write, forking writers costs more than it saves.
PARALLEL_FROM = 200


def writers(app, pages: int) -> int:
    """How many processes write this build's collected pages (1: Sphinx writes them itself)."""
    from sphinx.util.parallel import parallel_available

    if pages < PARALLEL_FROM or not parallel_available or app.parallel <= 1:
        return 1
    return max(1, min(app.parallel, os.cpu_count() or 1))


def write_in_parallel(app, todo: list[tuple[str, dict]], processes: int) -> None:
    """Write the pages in ``processes`` forked writers, as Sphinx writes source pages with ``-j``.

    Sphinx writes the pages of ``html-collect-pages`` one after another in the
    main process: at thousands of entries that was the longest part of a full
    build. Each writer is a fork of the main process and has everything a page
    needs (the rendered bodies, the environment, the templates); the first page
    of each folder is written here first, so that furo's navigation for the
    folder (:mod:`citydiplo.site.navcache`) and the compiled templates are
    inherited instead of made again by every writer. Warnings a writer logs are
    passed back to the main process (and fail the build under ``-W``).
    """
    from sphinx.util.parallel import ParallelTasks

    builder = app.builder
    first: dict[str, int] = {}
    for index, (name, _context) in enumerate(todo):
        first.setdefault(name.rpartition("/")[0], index)
    leaders = set(first.values())
    for index in sorted(leaders):
        builder.handle_page(todo[index][0], todo[index][1], "page.html")
    rest = [item for index, item in enumerate(todo) if index not in leaders]

    def write(chunk: list[tuple[str, dict]]) -> None:
        for name, context in chunk:
            builder.handle_page(name, context, "page.html")

    tasks = ParallelTasks(processes)
    size = max(1, -(-len(rest) // (processes * 4)))  # four chunks a writer: an even finish
    for start in range(0, len(rest), size):
        tasks.add_task(write, rest[start : start + size])
    tasks.join()


def on_build_finished(app, exception) -> None:
    if exception is None and app.statuscode == 0:
        keep_names(app)
    manifest = getattr(app.builder, "_citydiplo_manifest", None)
    if exception is None and manifest is not None:
        data = {
            **manifest,
            **getattr(app.builder, "_citydiplo_extra", {}),
            INPUTS_KEY: getattr(app.builder, "_citydiplo_inputs", ""),
        }
        write_if_changed(Path(app.outdir) / MANIFEST, json.dumps(data, sort_keys=True, indent=0))


def on_page_context(app, pagename, templatename, context, doctree) -> None:
    """After furo (which has no toc for a page without a source): put the page's toc back."""
    toc = context.pop("cd_toc", None)
    if toc is not None:
        context["toc"] = toc
        context["display_toc"] = True
        context["furo_hide_toc"] = False


def on_missing_reference(app, env, node, contnode):
    """Resolve a link to a page of this route (an ``{entity}`` or ``{vocab-term}`` role)."""
    if node.get("refdomain") != "std" or node.get("reftype") != "doc":
        return None
    target = node["reftarget"].lstrip("/")
    if not is_collected(app, target):
        return None
    ref = nodes.reference("", "", internal=True, refuri=app.builder.get_relative_uri(node["refdoc"], target))
    ref += contnode
    return ref


class VocabTermRole(SphinxRole):
    """``{vocab-term}`Name` ``: a link to an ontology term's page, showing its label
    (used by the generated MyST pages on the collect route)."""

    def run(self):
        from .sphinxext import label_of, note_use, state_for

        state = state_for(self.env)
        name = self.text.strip()
        note_use(self.env, f"def:{name}")
        label = label_of(state, f"def:{name}")
        if label is None:
            logger.warning(
                f"unknown term {name!r}: there is no cd:{name} in vocab/",
                type="citydiplo",
                subtype="link",
                location=self.get_location(),
            )
            return [nodes.literal(self.rawtext, name)], []
        ref = addnodes.pending_xref(
            "",
            nodes.inline(label, label, classes=["std", "std-doc"]),
            refdomain="std",
            reftype="doc",
            reftarget=f"/def/{name}",
            refexplicit=True,
            refwarn=True,
            refdoc=self.env.docname,
        )
        return [ref], []


def check_route(app, config) -> None:
    if config.citydiplo_entity_route not in ROUTES:
        from sphinx.errors import ConfigError

        raise ConfigError(
            f"citydiplo_entity_route is {config.citydiplo_entity_route!r}; it must be one of {', '.join(ROUTES)}"
        )


def setup(app) -> None:
    app.add_config_value("citydiplo_entity_route", "myst", "env", types=[str])
    app.connect("config-inited", check_route)
    app.add_role("vocab-term", VocabTermRole())
    app.connect("html-collect-pages", on_collect_pages)
    app.connect("missing-reference", on_missing_reference)
    app.connect("html-page-context", on_page_context, priority=650)
    app.connect("build-finished", on_build_finished)
