"""Sphinx extension: what every HTML page carries around its content.

Connected from ``conf/conf.py`` (next to :mod:`citydiplo.site.sphinxext`) and
read by the template overrides in ``conf/_templates/``:

- unique ``<title>``s (a page whose title other pages share gets its section's
  title added), a meta description, ``hreflang`` alternates and a language
  switcher to the same page in the other edition, breadcrumbs;
- the "Report a mistake" link, pre-filled with the page and its review date;
- the trainer edition's banner;
- what the Pagefind index needs: which pages it reads (the written pages;
  not the entries ``id/`` and vocabulary terms ``def/``, which grow with the
  graph) and their filters (kind of page, module, forum, language); and the
  name table, which finds every page, entries and terms included, by its
  title and names in every language, and which the search page puts first;
- the Nu validator's complaint about Sphinx's sidebar captions
  (``role="heading"`` without ``aria-level``);
- ``sitemap.xml`` at the end of the build.

Every value from the graph or the front matter is escaped here, once, before
it reaches a template (the templates mark nothing as safe that did not come
from here).
"""

from __future__ import annotations

import html
import re
import shutil
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, SKOS
from sphinx.transforms.post_transforms import SphinxPostTransform

from .. import __version__
from .search import NAME_TABLE_ONLY

LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}

UI = {
    "en": {
        "feedback": "Report a mistake or suggest a change",
        "feedback_title": "Feedback on “{title}”",
        "feedback_body": "Page: {url}\nLast reviewed: {reviewed}\nReview due: {due}\n\nWhat is wrong or missing:\n",
        "breadcrumbs": "Breadcrumbs",
        "language": "This page in other languages",
        "home": "Home",
        "trainer_banner": "Trainer edition: this site shows the trainer notes (answers and facilitation hints). "
        "Do not give it to participants.",
        "kinds": {
            "modules": "Training module",
            "how-to": "How-to guide",
            "explanation": "Explanation",
            "reference": "Reference",
            "routes": "Route",
            "about": "About the handbook",
            "data": "Data",
            "def": "Vocabulary term",
            "id": "Entry",
            "": "Overview",
        },
        "not_reviewed": "not given",
        "search": {
            "label": "Search the handbook",
            "button": "Search",
            "more": "More results",
            "filter": "Filter the results",
            "any": "all",
            "searching": "Searching …",
            "found": "{n} pages found.",
            "none": "No page matches. Check the spelling, or try fewer or other words.",
            "corrected": "{n} pages found for “{better}” (you searched for “{query}”).",
            "filters": {"kind": "Kind of page", "module": "Module", "forum": "Forum", "language": "Language"},
        },
        "checklist": {
            "who": "Who",
            "when": "By when",
            "clear": "Clear my ticks",
            "kept": "Your ticks and entries are kept in this browser only, on this device.",
            "cleared": "Your ticks and entries on this page are cleared.",
        },
    },
    "de": {
        "feedback": "Einen Fehler melden oder eine Änderung vorschlagen",
        "feedback_title": "Rückmeldung zu „{title}“",
        "feedback_body": "Seite: {url}\nZuletzt überprüft: {reviewed}\nNächste Überprüfung: {due}\n\n"
        "Was ist falsch oder fehlt:\n",
        "breadcrumbs": "Brotkrumennavigation",
        "language": "Diese Seite in anderen Sprachen",
        "home": "Startseite",
        "trainer_banner": "Ausgabe für Trainerinnen und Trainer: Diese Website zeigt die Hinweise für Trainerinnen "
        "und Trainer (Lösungen und Moderationshinweise). Nicht an Teilnehmende weitergeben.",
        "kinds": {
            "modules": "Lernmodul",
            "how-to": "Anleitung",
            "explanation": "Erklärung",
            "reference": "Nachschlagen",
            "routes": "Einstieg",
            "about": "Über das Handbuch",
            "data": "Daten",
            "def": "Begriff des Vokabulars",
            "id": "Eintrag",
            "": "Übersicht",
        },
        "not_reviewed": "nicht angegeben",
        "search": {
            "label": "Das Handbuch durchsuchen",
            "button": "Suchen",
            "more": "Weitere Ergebnisse",
            "filter": "Ergebnisse filtern",
            "any": "alle",
            "searching": "Suche läuft …",
            "found": "{n} Seiten gefunden.",
            "none": "Keine Seite passt. Prüfen Sie die Schreibweise oder versuchen Sie weniger oder andere Wörter.",
            "corrected": "{n} Seiten gefunden für „{better}“ (Ihre Suche: „{query}“).",
            "filters": {"kind": "Art der Seite", "module": "Modul", "forum": "Forum", "language": "Sprache"},
        },
        "checklist": {
            "who": "Wer",
            "when": "Bis wann",
            "clear": "Meine Häkchen löschen",
            "kept": "Ihre Häkchen und Einträge bleiben nur in diesem Browser auf diesem Gerät gespeichert.",
            "cleared": "Ihre Häkchen und Einträge auf dieser Seite sind gelöscht.",
        },
    },
}


DOWNLOAD_WORDS = {
    "en": {
        "heading": "Downloads for trainers",
        "pack": "{title}: course pack (PDF), {edition} edition",
        "participant": "participant",
        "trainer": "trainer",
        "epub": "The whole handbook as an EPUB e-book",
        "epub_trainer": "The whole handbook as an EPUB e-book, trainer edition (with the trainer and facilitator "
        "notes)",
        "slides": "{title}: slides to project (PDF, 16:9)",
        "absent": "The printable course packs and the EPUB are not part of this copy of the site. "
        "They are built with {command}.",
        "some_absent": "Not in this copy of the site: {files}.",
    },
    "de": {
        "heading": "Downloads für Trainerinnen und Trainer",
        "pack": "{title}: Kursmappe (PDF), Ausgabe für {edition}",
        "participant": "Teilnehmende",
        "trainer": "Trainerinnen und Trainer",
        "epub": "Das ganze Handbuch als E-Book (EPUB)",
        "epub_trainer": "Das ganze Handbuch als E-Book (EPUB), Ausgabe für Trainerinnen und Trainer "
        "(mit den Hinweisen für Trainer und Moderation)",
        "slides": "{title}: Folien zum Projizieren (PDF, 16:9)",
        "absent": "Die druckbaren Kursmappen und das EPUB gehören nicht zu dieser Ausgabe der Website. "
        "Sie entstehen mit {command}.",
        "some_absent": "Nicht in dieser Ausgabe der Website: {files}.",
    },
}
#: the page that lists every download; module landing pages list their own packs
DOWNLOADS_PAGE = "routes/trainers"
DOWNLOADS_DIR = "downloads"


def ui(language: str) -> dict:
    return UI.get(language, UI["en"])


def site_settings(app) -> dict:
    """``[site]`` of conf/citydiplo.toml, as passed in by conf.py."""
    return dict(app.config.citydiplo_site or {})


# ------------------------------------------------------------ page parts
def text_of(title) -> str:
    """Plain text of a title as Sphinx gives it (HTML with entities)."""
    return html.unescape(re.sub(r"<[^>]+>", "", str(title or ""))).strip()


def page_titles(app) -> dict[str, str]:
    """Every page's title as text: the documents', and the pages that Sphinx
    writes without a source on the collect route (:mod:`citydiplo.site.collect`)."""
    from .collect import route, titles_for

    titles = {docname: node.astext().strip() for docname, node in app.env.titles.items()}
    if route(app) == "collect":
        titles.update(titles_for(app))
    return titles


def shared_titles(app) -> dict[str, list[str]]:
    """Page title → the documents with that title, for titles used more than once
    (computed once per build, on the builder, which is not pickled)."""
    cached = getattr(app.builder, "_citydiplo_shared_titles", None)
    if cached is None:
        by_title = defaultdict(list)
        for docname, title in page_titles(app).items():
            by_title[title.casefold()].append(docname)
        cached = {title: docs for title, docs in by_title.items() if len(docs) > 1}
        app.builder._citydiplo_shared_titles = cached
    return cached


def section_index(env, docname: str) -> str | None:
    """The index page of the folder a page is in (itself excluded)."""
    parts = docname.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        candidate = "/".join(parts[:depth]) + "/index"
        if candidate != docname and candidate in env.titles:
            return candidate
    return None


def unique_title(app, docname: str, title: str) -> str:
    """The title, with what sets the page apart added when other pages share it:
    for a generated page its kind (the kind of entry, the concept scheme, or
    "vocabulary term"), for a handbook page its section's title."""
    env = app.env
    own = env.titles[docname].astext() if docname in env.titles else title
    if own.strip().casefold() not in shared_titles(app):
        return title
    language = app.config.language or "en"
    if docname.startswith("def/"):
        return f"{title} – {ui(language)['kinds']['def']}"
    if docname.startswith("id/"):
        from .sphinxext import state_for

        view = state_for(env).view
        node = view.node(docname[len("id/") :])
        kind = view.kind(node)
        if kind is not None:
            return f"{title} – {kind.title.get(language) or kind.title['en']}"
        graph = view.graph
        scheme = (
            graph.value(node, SKOS.inScheme)
            or graph.value(node, SKOS.topConceptOf)
            or graph.value(None, SKOS.hasTopConcept, node)
        )
        return f"{title} – {view.label(scheme, language)}" if scheme is not None else title
    parent = section_index(env, docname)
    if parent is None:
        return title
    return f"{title} – {env.titles[parent].astext().strip()}"


def first_paragraph(doctree, limit: int = 160) -> str:
    from docutils import nodes

    if doctree is None:
        return ""
    for para in doctree.findall(nodes.paragraph):
        if "review-dates" in para.get("classes", []):
            continue
        text = " ".join(para.astext().split())
        if len(text) >= 40:
            if len(text) > limit:
                text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
            return text
    return ""


def module_of(env, docname: str) -> str | None:
    """The training module a page belongs to (``modules/<name>/…``)."""
    parts = docname.split("/")
    if len(parts) >= 3 and parts[0] == "modules":
        index = f"modules/{parts[1]}/index"
        if index in env.titles:
            return env.titles[index].astext().strip()
    return None


def module_forum(view, folder: str, language: str) -> str | None:
    """The forum a training module is about (``modules/<slug>/`` where ``id/<slug>`` is a forum)."""
    node = view.node(folder)
    if (node, RDF.type, URIRef(view.cd + "Forum")) in view.graph:
        return view.label(node, language)
    return None


def all_module_forums(view, language: str) -> dict[str, str]:
    """Every slug that names a forum, with what :func:`module_forum` gives for it."""
    found = {}
    id_ns = view.project.id_ns
    for node in view.graph.subjects(RDF.type, URIRef(view.cd + "Forum")):
        if isinstance(node, URIRef) and str(node).startswith(id_ns):
            slug = str(node)[len(id_ns) :]
            forum = module_forum(view, slug, language)
            if forum is not None:
                found[slug] = forum
    return found


def forum_of_module(state, folder: str, language: str) -> str | None:
    """:func:`module_forum`, from what the last build kept while this build
    has made no graph (see :func:`citydiplo.site.collect.titles_for`)."""
    from .sphinxext import kept

    forums = kept(state, "forums") if language == state.language else None
    if forums is not None:
        return forums.get(folder)
    return module_forum(state.view, folder, language)


def entity_facets(view, slug: str, language: str) -> tuple[list[str], str | None]:
    """An entity's names (every language, alternative names) and its kind, for the name table."""
    node = view.node(slug)
    names: list[str] = []
    for prop in (SKOS.prefLabel, SKOS.altLabel):
        for value in view.graph.objects(node, prop):
            if isinstance(value, Literal) and str(value) not in names:
                names.append(str(value))
    kind = view.kind(node)
    return names, (kind.title.get(language) or kind.title["en"]) if kind else None


def language_links(app, pagename: str) -> list[tuple[str, str, str]]:
    """(language, absolute URL, relative URL) of this page in every language, the current first."""
    settings = site_settings(app)
    folders = settings.get("language_folders") or {}
    base = settings.get("url", "")
    here = app.config.language or "en"
    if here not in folders:
        return []
    up = "../" * pagename.count("/")
    up_to_site = up + "../" * folders[here].count("/")
    links = []
    for lang in sorted(folders, key=lambda lang: lang != here):
        target = folders[lang] + pagename + ".html"
        links.append((lang, base + target, up_to_site + target))
    return links


def feedback_link(app, pagename: str, title: str, meta: dict, absolute: str) -> str | None:
    template = site_settings(app).get("feedback_url")
    if not template:
        return None
    words = ui(app.config.language or "en")
    body = words["feedback_body"].format(
        url=absolute or pagename,
        reviewed=meta.get("last_reviewed") or words["not_reviewed"],
        due=meta.get("review_due") or words["not_reviewed"],
    )
    return template.replace("{title}", quote(words["feedback_title"].format(title=title), safe="")).replace(
        "{body}", quote(body, safe="")
    )


# -------------------------------------------------------------- downloads
def course_packs(root: Path) -> list[tuple[str, dict]]:
    """(name, table) of each pack in conf/coursepacks.toml, in file order."""
    import tomllib

    path = root / "conf" / "coursepacks.toml"
    if not path.is_file():
        return []
    with path.open("rb") as file:
        return list((tomllib.load(file).get("packs") or {}).items())


def download_files(project, pagename: str, language: str) -> list[tuple[Path, str, str]]:
    """(built file, its name in downloads/, link text) of the downloads a page offers, built or not.

    The course packs are those of ``citydiplo coursepack --all`` (named as
    :func:`citydiplo.print.coursepack.pdf_path` names them), the EPUB that of
    ``citydiplo epub``.
    """
    words = DOWNLOAD_WORDS.get(language, DOWNLOAD_WORDS["en"])
    suffix = "" if language == project.languages[0] else f"-{language}"
    module = pagename[: -len("/index")] if pagename.startswith("modules/") and pagename.count("/") == 2 else None
    if pagename != DOWNLOADS_PAGE and module is None:
        return []
    files = []
    for name, table in course_packs(project.root):
        if module is not None and module not in table.get("contents", []):
            continue
        title = (table.get(language) or {}).get("title") or table.get("title") or name
        for edition in ("participant", "trainer"):
            file = f"{name}-{edition}{suffix}.pdf"
            text = words["pack"].format(title=title, edition=words[edition])
            files.append((project.build_dir / "coursepacks" / file, file, text))
    # the slides of the module (of every module on the trainers' page): citydiplo.print.slides.pdf_path
    modules_dir = project.handbook_dir / "modules"
    names = sorted(p.parent.name for p in modules_dir.glob("*/index.md")) if modules_dir.is_dir() else []
    for name in names if module is None else [module.removeprefix("modules/")]:
        table = next((t for _, t in course_packs(project.root) if t.get("contents") == [f"modules/{name}"]), {})
        title = (table.get(language) or {}).get("title") or table.get("title") or name
        file = f"{name}{suffix}.pdf"
        files.append((project.build_dir / "slides" / file, f"slides-{file}", words["slides"].format(title=title)))
    if pagename == DOWNLOADS_PAGE:
        # as citydiplo.site.build.output_name names the folders of `citydiplo epub [--edition trainer]`
        epub_dir = "epub" + suffix
        files.append((project.build_dir / epub_dir / "citydiplo.epub", f"citydiplo{suffix}.epub", words["epub"]))
        trainer = (project.build_dir / f"{epub_dir}-trainer" / "citydiplo.epub", f"citydiplo-trainer{suffix}.epub")
        files.append((*trainer, words["epub_trainer"]))
    return files


def downloads_html(project, pagename: str, language: str, up: str) -> str:
    files = download_files(project, pagename, language)
    if not files:
        return ""
    words = DOWNLOAD_WORDS.get(language, DOWNLOAD_WORDS["en"])
    esc = html.escape
    built = [(name, text) for path, name, text in files if path.is_file()]
    missing = [text for path, _name, text in files if not path.is_file()]
    parts = [
        '<section class="cd-downloads" aria-labelledby="cd-downloads">'
        f'<h2 id="cd-downloads">{esc(words["heading"])}</h2>'
    ]
    if built:
        parts.append("<ul>")
        for name, text in built:
            parts.append(f'<li><a href="{esc(up + DOWNLOADS_DIR + "/" + name)}" download>{esc(text)}</a></li>')
        parts.append("</ul>")
        if missing:
            parts.append(f"<p>{esc(words['some_absent'].format(files='; '.join(missing)))}</p>")
    else:
        command = "<code>citydiplo build --with-downloads</code>"
        parts.append(f"<p>{esc(words['absent']).replace('{command}', command)}</p>")
    parts.append("</section>")
    return "".join(parts)


def copy_downloads(app, exception) -> None:
    """Copy the built course packs and EPUB the pages link to into ``downloads/``."""
    if exception is not None or app.builder.name != "html":
        return
    from .sphinxext import state_for

    project = state_for(app.env).project
    language = app.config.language or "en"
    target = Path(app.outdir) / DOWNLOADS_DIR
    pages = [DOWNLOADS_PAGE, *sorted(d for d in app.env.found_docs if re.fullmatch(r"modules/[^/]+/index", d))]
    wanted = {name: path for page in pages for path, name, _ in download_files(project, page, language)}
    if target.is_dir():
        for old in target.iterdir():
            if old.name not in wanted or not wanted[old.name].is_file():
                old.unlink()
    for name, path in wanted.items():
        if path.is_file():
            target.mkdir(exist_ok=True)
            shutil.copy2(path, target / name)


# ------------------------------------------------------------ markup fixes
class UnshareWrapperIds(SphinxPostTransform):
    """furo wraps each table (and display maths) in a ``div.table-wrapper`` and
    copies the table's attributes to it, ids included: a captioned table and
    its wrapper then share an id, which HTML forbids. The id stays on the table."""

    formats = ("html",)
    default_priority = 510  # after furo's wrapper (500)

    def run(self, **kwargs) -> None:
        from docutils import nodes

        for wrapper in self.document.findall(nodes.container):
            classes = wrapper.get("classes", [])
            if "table-wrapper" in classes or "math-wrapper" in classes:
                wrapper["ids"] = []


class TaskFields(SphinxPostTransform):
    """Checklists that work on screen and on paper: each task-list item gets a
    "who" and a "by when" field (on paper: short lines to write on), and the
    website's pages a "clear my ticks" button, hidden until
    ``conf/_static/citydiplo-checklists.js`` remembers the ticks and entries
    in the browser. The fields are plain form controls, so without JavaScript
    the list still shows, ticks and prints."""

    builders = ("html", "coursepack")
    default_priority = 520

    def run(self, **kwargs) -> None:
        from docutils import nodes

        from ..escape import html_attr, html_text

        words = ui(self.config.language or "en")["checklist"]
        fields = (
            '<div class="cd-task-fields" data-pagefind-ignore>'
            f'<label class="cd-task-field cd-task-who"><span>{html_text(words["who"])}</span> '
            '<input type="text" data-cd-field="who" autocomplete="off"></label> '
            f'<label class="cd-task-field cd-task-when"><span>{html_text(words["when"])}</span> '
            '<input type="date" data-cd-field="when"></label></div>'
        )
        tools = (
            '<div class="cd-checklist-tools" hidden data-pagefind-ignore>'
            f'<p class="cd-checklist-kept">{html_text(words["kept"])}</p> '
            f'<button type="button" class="cd-checklist-clear">{html_text(words["clear"])}</button> '
            f'<span class="cd-checklist-status" role="status" data-cleared="{html_attr(words["cleared"])}"></span>'
            "</div>"
        )
        first = True
        for item in list(self.document.findall(nodes.list_item)):
            if "task-list-item" not in item.get("classes", []):
                continue
            item += nodes.raw("", fields, format="html")
            task_list = item.parent
            if first and self.app.builder.name == "html" and task_list.parent is not None:
                task_list.parent.insert(task_list.parent.index(task_list), nodes.raw("", tools, format="html"))
                first = False


CAPTION = re.compile(r'<p class="caption" role="heading">')
#: a checklist's tick box and the item's first paragraph: the paragraph becomes its label
TASK_BOX = re.compile(r'<p><input class="task-list-item-checkbox"([^>]*)>(.*?)</p>', re.S)
#: sphinx-design's tab labels point aria-controls at a panel id nothing carries
TAB_LABEL = re.compile(r'<label aria-controls="[^"]*" class="sd-tab-label"')


def on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    if app.builder.name != "html":
        return
    env = app.env
    language = app.config.language or "en"
    words = ui(language)
    esc = html.escape

    # the search page's navigation: the top level only (a first search
    # downloads less; every other page has the whole tree)
    if pagename == "search" and "toctree" in context:
        from furo.navigation import get_navigation_tree

        context["furo_navigation_tree"] = get_navigation_tree(
            context["toctree"](collapse=True, titles_only=True, maxdepth=1, includehidden=True)
        )
    # furo's navigation: captions are headings, and need a level
    if "furo_navigation_tree" in context:
        context["furo_navigation_tree"] = CAPTION.sub(
            '<p class="caption" role="heading" aria-level="2">', context["furo_navigation_tree"]
        )

    # the site's name in the edition's language: the home page's (translated) title
    if app.config.root_doc in env.titles and language != "en":
        context["docstitle"] = esc(env.titles[app.config.root_doc].astext().strip())

    if "body" in context:
        body = TAB_LABEL.sub('<label class="sd-tab-label"', context["body"])
        # a code block that scrolls sideways must be reachable by keyboard
        body = body.replace('<div class="highlight"><pre>', '<div class="highlight"><pre tabindex="0">')
        context["body"] = TASK_BOX.sub(r'<p><label><input class="task-list-item-checkbox"\1>\2</label></p>', body)

    from .collect import collected

    page = collected(app, pagename)  # an entity or term page without a source (collect route)
    title = text_of(context.get("title"))
    if pagename in env.titles or page is not None:
        title = unique_title(app, pagename, title)
        context["title"] = esc(title)
    meta = env.metadata.get(pagename, {})

    head = []
    description = meta.get("description") or (page.description if page is not None else first_paragraph(doctree))
    if not description:
        description = app.config.html_title
    head.append(f'<meta name="description" content="{esc(description)}">')

    links = language_links(app, pagename)
    if links:
        for lang, absolute, _relative in links:
            head.append(f'<link rel="alternate" hreflang="{esc(lang)}" href="{esc(absolute)}">')
        head.append(f'<link rel="canonical" href="{esc(links[0][1])}">')
    context["metatags"] = context.get("metatags", "") + "\n".join(head) + "\n"
    # The switcher links to the published address: each edition is built into
    # a folder of its own (build/html, build/html-de) and published as one
    # site (conf/citydiplo.toml, [site]), so a relative link would only work
    # once published, and would be a broken link in the build.
    context["cd_languages"] = [
        {"lang": lang, "name": LANGUAGE_NAMES.get(lang, lang), "href": absolute} for lang, absolute, _r in links[1:]
    ]
    context["cd_words"] = words
    context["cd_root"] = "../" * pagename.count("/") or "./"
    if pagename == "search":
        import json

        context["cd_search_words"] = json.dumps(words["search"], ensure_ascii=False)
        context["cd_stopwords"] = " ".join(sorted(STOPWORDS))
        # the name table's files, so that the page asks only for those that exist
        shards = name_shards(app)
        context["cd_name_keys"] = " ".join(sorted(k for k in shards if not k.startswith(ENDS_DIR)))
        context["cd_end_keys"] = " ".join(sorted(k.removeprefix(ENDS_DIR) for k in shards if k.startswith(ENDS_DIR)))
        # the search page shows no code, tabs, dates, directories or checklists:
        # their styles and scripts stay out of a first search (RESULTS.md);
        # Sphinx's own search needs a few of them, which the page loads, in
        # their order, only when it falls back to that search
        scripts = context.get("script_files")
        fallback = sorted(
            (f for f in scripts or [] if asset_name(f) in FOR_SPHINX_SEARCH), key=lambda f: getattr(f, "priority", 500)
        )
        context["cd_sphinx_scripts"] = [context["pathto"](str(getattr(f, "filename", f)), 1) for f in fallback]
        for key in ("css_files", "script_files"):
            if isinstance(context.get(key), list):
                context[key][:] = [
                    f for f in context[key] if asset_name(f) not in NOT_ON_SEARCH_PAGE | FOR_SPHINX_SEARCH
                ]

    # breadcrumbs: the toctree's parents, or the folder's index for orphan pages
    crumbs = [{"title": words["home"], "link": context["pathto"](app.config.root_doc)}]
    parents = context.get("parents") or []
    if parents:
        crumbs += [{"title": text_of(p["title"]), "link": p["link"]} for p in parents]
    else:
        parent = section_index(env, pagename)
        while parent and parent != app.config.root_doc:
            crumbs.insert(1, {"title": env.titles[parent].astext(), "link": context["pathto"](parent)})
            parent = section_index(env, parent)
    context["cd_breadcrumbs"] = crumbs if pagename != app.config.root_doc else []

    context["cd_feedback"] = feedback_link(app, pagename, title, meta, links[0][1] if links else "")

    if doctree is not None or page is not None:
        from .sphinxext import state_for

        context["cd_downloads"] = downloads_html(
            state_for(env).project, pagename, language, up="../" * pagename.count("/")
        )

    if app.config.citydiplo_edition == "trainer":
        context["theme_announcement"] = esc(words["trainer_banner"])

    # the search index: filters and weighted names. Pages generated from the
    # graph (entries, vocabulary terms) stay out of Pagefind's full-text index:
    # they grow with the data, and the name table finds them by their names
    # (write_names); the template marks only the other pages data-pagefind-body.
    section = pagename.split("/")[0] if "/" in pagename else ""
    if doctree is not None and section not in NAME_TABLE_ONLY:
        from .sphinxext import state_for

        filters: dict[str, list[str]] = {"kind": [], "module": [], "forum": [], "language": []}
        filters["kind"].append(words["kinds"].get(section, words["kinds"][""]))
        module = module_of(env, pagename)
        if module:
            filters["module"].append(module)
            forum = forum_of_module(state_for(env), pagename.split("/")[1], language)
            if forum:
                filters["forum"].append(forum)
        body = context.get("body", "")
        untranslated = "citydiplo-untranslated" in body
        filters["language"].append(LANGUAGE_NAMES.get("en" if untranslated else language, language))
        context["cd_pagefind_filters"] = [(key, value) for key, values in filters.items() for value in values]


# ------------------------------------------------------------- best bets
#: folder of the name table, next to Pagefind's bundle
NAMES_DIR = "searchnames"
#: words too common to find a page by
_STOPWORDS = (
    "a an and at by de der die das den des dem du ein eine einen einer for from im in of on or the to und zu zum zur"
)
STOPWORDS = frozenset(_STOPWORDS.split())
#: the folder (inside NAMES_DIR) of the words by their last two letters
ENDS_DIR = "end/"
#: the search page corrects words of this many letters or more
CORRECTED_LENGTH = 4
#: styles and scripts the search page does without
NOT_ON_SEARCH_PAGE = frozenset(
    {
        "pygments.css",
        "sphinx-design.min.css",
        "furo-extensions.css",
        "design-tabs.js",
        "citydiplo-dates.js",
        "citydiplo-directory.js",
        "citydiplo-checklists.js",
    }
)
#: scripts only Sphinx's own search needs (its options, helpers, highlighting
#: and translations): the search page loads them when it falls back to it
FOR_SPHINX_SEARCH = frozenset({"documentation_options.js", "doctools.js", "sphinx_highlight.js", "translations.js"})


def asset_name(asset) -> str:
    """The file name of a page's style sheet or script (Sphinx's asset object or a string)."""
    return str(getattr(asset, "filename", asset)).rsplit("/", 1)[-1].split("?", 1)[0]


def normalise(text: str) -> str:
    """Lower case, without accents and punctuation (the search page does the same in JavaScript)."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[\w]+", text))


def word_key(word: str) -> str:
    """A word as the name table files it: plural "s" folded."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def name_shards(app) -> dict[str, dict]:
    """The name table's files, by name (without ``.json``), computed once per build.

    ``<xx>``: the pages whose titles and names hold a word starting with
    ``xx``, and those words; ``end/<yz>``: each word of a title or name that
    ends in ``yz``, with the number of pages it names. The search page corrects
    a typing mistake from both, so that a mistake in a word's first two
    letters (the wrong file by ``xx``) is still found by its last two."""
    cached = getattr(app, "_citydiplo_name_shards", None)
    if cached is not None:
        return cached
    from .collect import unchanged
    from .sphinxext import state_for

    kept = read_names(Path(app.outdir) / NAMES_DIR) if unchanged(app) else None
    if kept is not None:  # as the last build wrote them (it wrote them from the same inputs)
        app._citydiplo_name_shards, app._citydiplo_names_kept = kept, True
        return kept

    env = app.env
    view = state_for(env).view
    language = app.config.language or "en"
    kinds = ui(language)["kinds"]
    table = {}
    titles = page_titles(app)
    for docname in sorted(titles):
        if not (Path(app.outdir) / f"{docname}.html").is_file():
            continue
        if docname not in env.found_docs and not docname.startswith(("id/", "def/")):
            continue
        title = unique_title(app, docname, titles[docname])
        section = docname.split("/")[0] if "/" in docname else ""
        names, kind = [], kinds.get(section, kinds[""])
        if section == "id":
            names, entity_kind = entity_facets(view, docname.split("/", 1)[1], language)
            kind = entity_kind or kind
        table[docname] = {"title": title, "names": [title, *names], "kind": kind}
    shards: dict[str, dict] = defaultdict(lambda: {"pages": [], "index": {}, "words": defaultdict(list)})
    for pagename in sorted(table):
        entry = table[pagename]
        # the title first (the search page ranks by where the query's first word is in it)
        title = normalise(entry["title"])
        names = [title, *sorted({normalise(n) for n in entry["names"]} - {title, ""})]
        words = {word_key(w) for name in names for w in name.split() if w not in STOPWORDS and len(w) > 1}
        for word in words:
            shard = shards[word[:2]]
            if pagename not in shard["index"]:
                shard["index"][pagename] = len(shard["pages"])
                shard["pages"].append([pagename + ".html", entry["title"], entry["kind"], names])
            shard["words"][word].append(shard["index"][pagename])
    files: dict[str, dict] = {}
    ends: dict[str, dict[str, int]] = defaultdict(dict)
    for key, shard in shards.items():
        # a page's names without the first, its title, which the search page normalises itself
        pages = [[url, title, kind, names[1:]] for url, title, kind, names in shard["pages"]]
        files[key] = {"pages": pages, "words": dict(sorted(shard["words"].items()))}
        for word, pages in shard["words"].items():
            if len(word) >= CORRECTED_LENGTH:
                ends[word[-2:]][word] = len(pages)
    for key, counts in ends.items():
        files[ENDS_DIR + key] = dict(sorted(counts.items()))
    app._citydiplo_name_shards = files
    return files


def read_names(folder: Path) -> dict[str, dict] | None:
    """The name table's files as :func:`write_names` wrote them into ``folder`` (None: not there)."""
    import json

    if not folder.is_dir():
        return None
    try:
        files = {
            path.relative_to(folder).with_suffix("").as_posix(): json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.rglob("*.json"))
        }
    except (OSError, ValueError):
        return None
    return files or None


def write_names(app, exception) -> None:
    """``searchnames/<xx>.json``: pages by the words of their titles and names,
    split by each word's first two letters so that a query fetches one small file.
    The search page shows pages whose name is the query (or holds all its
    words) before Pagefind's full-text results. ``searchnames/end/<yz>.json``:
    the same words by their last two letters, for correcting typing mistakes
    (:func:`name_shards`)."""
    if exception is not None or app.builder.name != "html" or getattr(app, "_citydiplo_names_kept", False):
        return
    import json

    out = Path(app.outdir) / NAMES_DIR
    shutil.rmtree(out, ignore_errors=True)
    (out / ENDS_DIR).mkdir(parents=True)
    for key, data in name_shards(app).items():
        (out / f"{key}.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def write_sitemap(app, exception) -> None:
    """``sitemap.xml``: every page of this edition, with hreflang alternates."""
    if exception is not None or app.builder.name != "html":
        return
    settings = site_settings(app)
    base, folders = settings.get("url"), settings.get("language_folders") or {}
    language = app.config.language or "en"
    if not base or language not in folders:
        return
    out = Path(app.outdir)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">',
    ]
    from .collect import collected_names

    docnames = set(app.env.found_docs) | collected_names(app)
    for docname in sorted(docnames):
        if not (out / f"{docname}.html").is_file():
            continue
        lines.append(f"  <url><loc>{xml_escape(base + folders[language] + docname + '.html')}</loc>")
        for lang in sorted(folders):
            href = xml_escape(base + folders[lang] + docname + ".html")
            lines.append(f'    <xhtml:link rel="alternate" hreflang="{lang}" href="{href}"/>')
        lines.append("  </url>")
    lines.append("</urlset>")
    (out / "sitemap.xml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def setup(app):
    app.add_config_value("citydiplo_site", {}, "html", types=[dict])
    app.add_post_transform(UnshareWrapperIds)
    app.add_post_transform(TaskFields)
    # after furo's own handler (priority 500), which computes the navigation tree
    app.connect("html-page-context", on_html_page_context, priority=900)
    app.connect("build-finished", write_sitemap)
    app.connect("build-finished", copy_downloads)
    app.connect("build-finished", write_names)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
