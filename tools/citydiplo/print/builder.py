"""Sphinx side of the course packs and the EPUB: a ``coursepack`` builder
and the print forms of the components.

Listed in ``conf/conf.py``; it changes nothing in the website build. The
``coursepack`` builder (run by :func:`citydiplo.coursepack.build_pack`) is
Sphinx's ``singlehtml`` builder with the pack's pages laid out flat, one
chapter per page, instead of nested where their toctrees are:

- every id is prefixed with its page (``modules-gfmd-index--sources``), so
  the ``Sources`` section of one page cannot capture the links meant for
  another's, and every cross-page link points at the prefixed id;
- chapters and their sections are numbered;
- links to pages outside the pack point at the website, links to entities at
  their IRI, ``{term}`` links at the glossary appendix;
- tab sets, dropdowns and other components get their print form
  (:mod:`citydiplo.print.forms`).

It writes ``body.html`` (the chapters) and ``pack.json`` (the outline, the
glossary terms the pack uses, notices); :mod:`citydiplo.print.coursepack` puts
them together with the cover and the table of contents and renders the PDF.

The EPUB builder gets the same print forms (:class:`PrintForms`) and
:class:`EpubFixes`, so that the book is valid XHTML with working links.
"""

from __future__ import annotations

import functools
import html
import json
import posixpath
import re
from typing import Any

from docutils import nodes
from rdflib import Literal
from rdflib.namespace import SKOS
from sphinx import addnodes
from sphinx.builders.epub3 import Epub3Builder
from sphinx.builders.singlehtml import SingleFileHTMLBuilder
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join, logging

from .. import __version__
from ..site.sphinxext import BANK_CLASS, is_translated, state_for, writing_space

logger = logging.getLogger(__name__)

SOURCES_TITLES = {"sources", "quellen"}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV"]


def doc_slug(docname: str) -> str:
    """``modules/gfmd/index`` → ``modules-gfmd-index`` (a readable id part)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", docname).strip("-")


def doc_anchor(docname: str) -> str:
    return "doc-" + doc_slug(docname)


def glossary_anchor(slug: str) -> str:
    return "glossary-" + slug


# ------------------------------------------------------------- the glossary
def glossary_index(view) -> dict[str, Any]:
    """Every label (any handbook language, abbreviations too), casefolded → glossary concept."""
    scheme = view.slugs.get("glossary")
    index: dict[str, Any] = {}
    if scheme is None:
        return index
    for concept in view.concepts(scheme):
        labels = [view.label(concept, lang) for lang in view.project.languages]
        labels += [str(v) for v in view.graph.objects(concept, SKOS.altLabel) if isinstance(v, Literal)]
        for label in labels:
            index.setdefault(label.casefold(), concept)
    return index


def label_pattern(label: str) -> re.Pattern:
    """A whole-word pattern for a label: abbreviations (``GFMD``, ``LRGs``)
    match their exact case, other labels any case, with a plural ending."""
    words = r"\s+".join(re.escape(word) for word in label.split())
    if any(ch.isupper() for ch in label[1:]):
        return re.compile(rf"(?<!\w){words}(?!\w)")
    return re.compile(rf"(?<!\w){words}(?:s|es)?(?!\w)", re.IGNORECASE)


def glossary_terms(view, text: str, referenced: set[str]) -> list[dict]:
    """The glossary terms a pack uses: linked with ``{term}`` (``referenced``,
    concept slugs) or whose label (or abbreviation) in the build language
    occurs in ``text``. Sorted by label; each with its definition."""
    scheme = view.slugs.get("glossary")
    if scheme is None:
        return []
    terms = []
    for concept in view.concepts(scheme):
        slug = view.slug(concept)
        label = view.label(concept)
        alts = sorted(
            str(v)
            for v in view.graph.objects(concept, SKOS.altLabel)
            if isinstance(v, Literal) and v.language == view.lang
        )
        used = slug in referenced or any(label_pattern(name).search(text) for name in [label, *alts])
        if used:
            terms.append(
                {
                    "slug": slug,
                    "anchor": glossary_anchor(slug),
                    "label": label,
                    "also": alts,
                    "definition": view.text(concept, SKOS.definition) or "",
                }
            )
    return sorted(terms, key=lambda t: t["label"].casefold())


# ----------------------------------------------------------- transforms
class PrintForms(SphinxPostTransform):
    """Tab sets and dropdowns in their print form, before sphinx-design turns
    them into radio buttons and ``<details>`` (its transforms run at 199/200).
    The EPUB gets the same forms: e-readers show neither, and the radio
    buttons are not valid XHTML."""

    builders = ("coursepack", "epub")
    default_priority = 150

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(lambda n: _component(n) == "tab-set")):
            new = nodes.container(classes=["print-tab-set"])
            for item in node.children:
                if _component(item) != "tab-item" or len(item.children) != 2:
                    new += item
                    continue
                label, content = item.children
                tab = nodes.container(classes=["print-tab"], ids=item.get("ids", []))
                tab += nodes.rubric(label.astext(), "", *label.children, classes=["print-tab-title"])
                tab.extend(content.children)
                new += tab
            node.replace_self(new)
        for node in list(self.document.findall(lambda n: _component(n) == "dropdown")):
            new = nodes.container(classes=["print-dropdown"], ids=node.get("ids", []))
            children = list(node.children)
            if node.get("has_title") and children:
                title = children.pop(0)
                new["ids"] += title.get("ids", [])
                new += nodes.rubric(title.astext(), "", *title.children, classes=["print-dropdown-title"])
            new.extend(children)
            node.replace_self(new)


class WritingLines(SphinxPostTransform):
    """A ``writing-space`` becomes ruled lines in the participant edition of a
    pack (the same lines as an exercise's space to write), and nothing in
    the trainer edition, which prints the answers instead."""

    builders = ("coursepack",)
    default_priority = 150

    def run(self, **kwargs: Any) -> None:
        participant = self.config.citydiplo_edition != "trainer"
        for node in list(self.document.findall(writing_space)):
            if not participant:
                node.parent.remove(node)
                continue
            lines = '<div class="write-line"></div>' * int(node["lines"])
            node.replace_self(nodes.raw("", f'<div class="write-space writing-space">{lines}</div>\n', format="html"))


class EpubFixes(SphinxPostTransform):
    """What the EPUB cannot hold: raw ``<input>`` (task-list checkboxes) is
    closed as XHTML requires; raw links to pages get the book's ``.xhtml``,
    and links to files that are not pages of the book (an entity's Turtle and
    JSON-LD, the data dump) point at the website."""

    builders = ("epub",)
    default_priority = 150

    INPUT_RE = re.compile(r"<input\b([^>]*?)\s*/?>")
    HREF_RE = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|#|/)([^"]+)"')

    def run(self, **kwargs: Any) -> None:
        docdir = posixpath.dirname(self.env.docname)
        base = self.config.citydiplo_print_site_url or _project(self.config.citydiplo_root).base_iri
        out_suffix = self.app.builder.out_suffix

        def absolute(match: re.Match) -> str:
            href = match.group(1)
            path, hash_, fragment = href.partition("#")
            if not path:
                return match.group(0)
            target = posixpath.normpath(posixpath.join(docdir, path))
            if path.endswith(".html") and target[: -len(".html")] in self.env.all_docs:
                return f'href="{path[: -len(".html")]}{out_suffix}{hash_}{fragment}"'
            return f'href="{base}{target}{"/" if path.endswith("/") else ""}{hash_}{fragment}"'

        for node in list(self.document.findall(nodes.raw)):
            if "html" not in node.get("format", "").split():
                continue
            text = node.astext()
            fixed = self.HREF_RE.sub(absolute, self.INPUT_RE.sub(r"<input\1 />", text))
            if fixed != text:
                node.replace_self(nodes.raw(node.rawsource, fixed, format=node["format"]))


def _component(node) -> str | None:
    return node.get("design_component") if isinstance(node, nodes.Element) else None


class OutsideDocLinks(SphinxPostTransform):
    """MyST links to pages outside the pack (``[x](../other.md)``) go to the
    website; MyST resolves its own references at priority 9 and would warn."""

    builders = ("coursepack",)
    default_priority = 8

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain") != "doc":
                continue
            target = node["reftarget"]
            if target in self.env.all_docs:
                continue
            uri = outside_uri(self.config, target, node.get("reftargetid"))
            node.replace_self(_external(uri, node[0].deepcopy() if node.children else nodes.Text(target)))


@functools.cache
def _project(root):
    from ..config import load_project

    return load_project(root)


def outside_uri(config, docname: str, anchor: str | None = None) -> str:
    """Where a page that is not in the pack lives: an entity at its IRI, any
    other page on the website."""
    project = _project(config.citydiplo_root)
    if docname.startswith("id/"):
        return project.id_ns + docname[len("id/") :]
    base = config.citydiplo_print_site_url or project.base_iri
    return base + docname + ".html" + (f"#{anchor}" if anchor else "")


def _external(uri: str, content: nodes.Node) -> nodes.reference:
    ref = nodes.reference("", "", refuri=uri, internal=False, classes=["outside"])
    ref += content
    return ref


def on_missing_reference(app, env, node, contnode):
    """Resolve what the pack cannot hold: entity and other outside pages,
    glossary terms (to the appendix), labels on outside pages (plain text)."""
    if app.builder.name != "coursepack":
        return None
    domain, reftype = node.get("refdomain"), node.get("reftype")
    if domain != "std":
        return None
    if reftype == "doc":
        docname = docname_join(node.get("refdoc", env.docname), node["reftarget"])
        if docname in env.all_docs:
            return None
        return _external(outside_uri(app.config, docname), contnode)
    if reftype == "term":
        from ..site.sphinxext import state_for

        index = app.builder.glossary_index(state_for(env).view)
        concept = index.get(node["reftarget"].casefold())
        if concept is None:
            return None  # Sphinx warns: the same mistake fails the website build
        slug = state_for(env).view.slug(concept)
        app.builder.terms_referenced.add(slug)
        ref = nodes.reference("", "", refid=glossary_anchor(slug), internal=True, classes=["term"])
        ref["pack_global"] = True
        ref += contnode
        return ref
    if reftype in ("ref", "numref"):
        app.builder.notices.append(
            f"{node.get('refdoc', '')}: the label {node['reftarget']!r} is on a page outside the pack; printed as text"
        )
        return contnode
    return None


# --------------------------------------------------------------- builder
class CoursePackBuilder(SingleFileHTMLBuilder):
    """The pack's pages as flat, numbered chapters in one HTML fragment."""

    name = "coursepack"
    search = False
    copysource = False

    def init(self) -> None:
        super().init()
        self.terms_referenced: set[str] = set()
        self.notices: list[str] = []
        self._glossary_index = None

    def glossary_index(self, view) -> dict:
        if self._glossary_index is None:
            self._glossary_index = glossary_index(view)
        return self._glossary_index

    # the order of the pages: depth-first through the toctrees
    def pack_order(self) -> list[tuple[str, int]]:
        order: list[tuple[str, int]] = []
        seen = {self.config.root_doc}

        def walk(doc: str, depth: int) -> None:
            for child in self.env.toctree_includes.get(doc, []):
                if child in seen or child not in self.env.all_docs:
                    continue
                seen.add(child)
                order.append((child, depth))
                walk(child, depth + 1)

        walk(self.config.root_doc, 0)
        return order

    def write_documents(self, _docnames) -> None:
        self.prepare_writing(self.env.all_docs.keys())
        doctree, outline = self.assemble_pack()
        doctree.settings = self.docsettings
        self.secnumbers, self.fignumbers = {}, {}
        self.current_docname = self.config.root_doc
        self.imgpath = "_images"
        self.dlpath = "_downloads"
        self.post_process_images(doctree)
        visitor = self.create_translator(doctree, self)
        doctree.walkabout(visitor)
        body = with_header_scopes("".join(visitor.fragment))
        (self.outdir / "body.html").write_text(body, encoding="utf-8")
        (self.outdir / "pack.json").write_text(json.dumps(outline, indent=1, ensure_ascii=False), encoding="utf-8")

    def assemble_pack(self) -> tuple[nodes.document, dict]:
        root = self.config.root_doc
        order = self.pack_order()
        top = [doc for doc, depth in order if depth == 0]
        has_children = {doc for doc, _ in order if self.env.toctree_includes.get(doc)}
        use_parts = len(top) >= 2 and all(doc in has_children for doc in top)

        tree = self.env.get_doctree(root).deepcopy()
        tree.children = []
        tree["docname"] = root
        chapters, parts, sessions = [], [], []
        for number, (doc, depth) in enumerate(order, start=1):
            if use_parts and depth == 0:
                part = {
                    "number": ROMAN[len(parts)] if len(parts) < len(ROMAN) else str(len(parts) + 1),
                    "anchor": f"part-{len(parts) + 1}",
                    "title": self.env.titles[doc].astext(),
                }
                parts.append(part)
                tree += nodes.raw(
                    "",
                    f'<div class="part" id="{part["anchor"]}">'
                    f"{running_head_html(self.part_word() + ' ' + part['number'] + ' ' + part['title'])}"
                    f'<h1 class="part-title">'
                    f'<span class="secnum">{self.part_word()} {part["number"]}</span> '
                    f"{_escape(part['title'])}</h1></div>\n",
                    format="html",
                )
            doctree = self.env.get_doctree(doc).deepcopy()
            notes, diagrams = slide_material(doctree)
            if depth == 0:
                table = self.session_table(doc, doctree)
                if table:
                    sessions.append({"docname": doc, "title": self.env.titles[doc].astext(), "sessions": table})
            for toctree in list(doctree.findall(addnodes.toctree)):
                wrapper = toctree.parent
                if isinstance(wrapper, nodes.compound) and "toctree-wrapper" in wrapper["classes"]:
                    wrapper.parent.remove(wrapper)
                else:
                    wrapper.remove(toctree)
            chapter = nodes.container(classes=["chapter"] + (["in-part"] if use_parts else []), ids=[doc_anchor(doc)])
            chapter["docname"] = doc
            chapter += running_head(f"{number} {self.env.titles[doc].astext()}")
            chapter.extend(list(doctree.children))
            if not is_translated(self.app, state_for(self.env), doc):
                self.mark_untranslated(chapter)
            tree += chapter
            chapters.append(
                {
                    "docname": doc,
                    "number": str(number),
                    "depth": depth,
                    "part": parts[-1]["anchor"] if use_parts else None,
                    "anchor": doc_anchor(doc),
                    "title": self.env.titles[doc].astext(),
                    "sections": [],
                    "facilitator_notes": notes,
                    "diagrams": diagrams,
                }
            )

        self.env.resolve_references(tree, root, self)
        self.fix_ids(tree)
        for chapter_node, info in zip(
            (n for n in tree.children if isinstance(n, nodes.container)), chapters, strict=True
        ):
            self.number_sections(chapter_node, info)
        exercises = self.number_exercises(tree, chapters)
        self.print_bank_once(tree, exercises)
        outside = self.print_link_targets(tree)

        state = state_for(self.env)
        text = tree.astext()
        outline = {
            "generator": f"citydiplo {__version__}",
            "language": self.config.language or "en",
            "edition": self.config.citydiplo_edition,
            "parts": parts,
            "chapters": chapters,
            "glossary": glossary_terms(state.view, text, self.terms_referenced),
            "notices": self.notices,
            "sessions": sessions,
            "exercises": exercises,
            "outside_links": outside,
        }
        return tree, outline

    def session_table(self, doc: str, doctree: nodes.document) -> list[dict]:
        """The sessions of a module's landing page (see :mod:`citydiplo.print.agenda`)."""
        from .agenda import half_day_numbers, sessions_from_rows

        source = self.env.doc2path(doc)
        half = half_day_numbers(source.read_text(encoding="utf-8")) if source.is_file() else None
        title = self.env.titles[doc].astext()
        for table in doctree.findall(nodes.table):
            rows = [[entry.astext() for entry in row.findall(nodes.entry)] for row in table.findall(nodes.row)]
            found = sessions_from_rows(rows, half)
            if found:
                pages = {}  # session number → the titles of the pages it uses (for the slides)
                for row in table.findall(nodes.row):
                    entries = list(row.findall(nodes.entry))
                    if len(entries) < 3 or not entries[0].astext().strip().isdigit():
                        continue
                    linked = [
                        " ".join(ref.astext().split())
                        for entry in entries[2:]
                        for ref in entry.findall(lambda n: isinstance(n, (nodes.reference, addnodes.pending_xref)))
                        if not ref.get("refuri", "").startswith(("http://", "https://"))
                    ]
                    pages[int(entries[0].astext())] = list(dict.fromkeys(linked)) or [title]
                for session in found:
                    session["pages"] = pages.get(session["number"], [title])
                return found
        return []

    def number_exercises(self, tree: nodes.document, chapters: list[dict]) -> list[dict]:
        """Number the exercises of each module (1, 2, … as in its session
        table); in the participant edition each gets space to write, sized by
        its duration. Returns the exercises in order."""
        found = []
        count = 0
        participant = self.config.citydiplo_edition != "trainer"
        chapter_nodes = [n for n in tree.children if isinstance(n, nodes.container) and n.get("docname")]
        for chapter_node, info in zip(chapter_nodes, chapters, strict=True):
            if info["depth"] == 0:
                count = 0
            for node in list(chapter_node.findall(nodes.admonition)):
                if "exercise" not in node["classes"] or not node.children or not isinstance(node[0], nodes.title):
                    continue
                count += 1
                title = node[0]
                first = title[0] if title.children else None
                if isinstance(first, nodes.Text):
                    title.replace(first, nodes.Text(re.sub(r"^(\w+)", rf"\1 {count}", str(first), count=1)))
                text = title.astext()
                match = re.search(r"\((\d+)\s*(?:min|Min)", text)
                minutes = int(match[1]) if match else 0
                if not node["ids"]:
                    node["ids"] = [f"{doc_slug(info['docname'])}--exercise-{count}"]
                found.append(
                    {
                        "number": count,
                        "title": text,
                        "minutes": minutes,
                        "chapter": info["number"],
                        "anchor": node["ids"][0],
                        "bank": node.get("bank", ""),
                    }
                )
                if participant:
                    page_break_before(node, chapter_node)
                    lines = max(6, min(16, minutes // 4)) if minutes else 8
                    node += nodes.raw(
                        "",
                        '<div class="write-space">' + '<div class="write-line"></div>' * lines + "</div>\n",
                        format="html",
                    )
        return found

    def print_bank_once(self, tree: nodes.document, exercises: list[dict]) -> None:
        """A pack prints the common text of a bank exercise (its steps and the
        answer notes that hold in every module) once, at its first use; a
        later module keeps its own variant and points to that exercise by
        number and page ("see exercise 2 in chapter 1.4 (p. 23)")."""
        strings = self.print_strings
        first: dict[str, dict] = {}
        for exercise in exercises:
            if exercise.get("bank"):
                first.setdefault(exercise["bank"], exercise)
        printed: set[tuple[str, str]] = set()
        for node in list(tree.findall(nodes.container)):
            if BANK_CLASS not in node["classes"]:
                continue
            key = (node["bank"], node["bank_part"])
            target = first.get(node["bank"])
            if key not in printed:
                printed.add(key)
                continue
            if target is None:  # a trainer note without its exercise: nothing to point to
                continue
            label = strings["bank_exercise"].format(number=target["number"], chapter=target["chapter"])
            before, after = strings[f"bank_see_{node['bank_part']}"].split("{exercise}")
            para = nodes.paragraph(classes=["bank-see"])
            para += nodes.Text(before)
            para += nodes.reference("", label, refid=target["anchor"], internal=True)
            para += nodes.Text(after)
            node.replace_self(para)
            para["classes"] = ["bank-see"]  # (replace_self copies the container's classes)

    def print_link_targets(self, tree: nodes.document) -> list[dict]:
        """Every link the pack cannot follow inside itself prints where it
        leads: a page of the website as "see the website: PATH", an entity as
        its IRI (once per chapter), any other address as itself. Returns the
        list (also in pack.json)."""
        site = self.config.citydiplo_print_site_url or _project(self.config.citydiplo_root).base_iri
        strings = self.print_strings
        listed = []
        chapter_nodes = [n for n in tree.children if isinstance(n, nodes.container) and n.get("docname")]
        for chapter in chapter_nodes:
            shown: set[str] = set()
            for ref in list(chapter.findall(nodes.reference)):
                uri = ref.get("refuri", "")
                if not re.match(r"^(https?|mailto|ftp):", uri):
                    continue
                if uri.startswith(site) and not uri.startswith(_project(self.config.citydiplo_root).id_ns):
                    text = strings["see_website"].format(path=uri[len(site) :])
                    kind = "website"
                elif uri.startswith(_project(self.config.citydiplo_root).id_ns):
                    kind = "entity"
                    if uri in shown:
                        continue
                    text = _bare(uri)
                else:
                    kind = "external"
                    if _bare(ref.astext()) == _bare(uri):
                        continue  # the address is the link text
                    text = _bare(uri)
                shown.add(uri)
                listed.append({"chapter": chapter["docname"], "uri": uri, "kind": kind})
                parent = ref.parent
                parent.insert(parent.index(ref) + 1, nodes.inline("", f" ({text})", classes=["link-address"]))
        return listed

    @functools.cached_property
    def print_strings(self) -> dict[str, str]:
        from .coursepack import print_strings

        project = state_for(self.env).project
        return print_strings(project, self.config.language or project.languages[0])

    @functools.cached_property
    def untranslated_note(self) -> str:
        """The note under the title of an untranslated chapter, in the pack's language."""
        from .coursepack import print_strings

        project = state_for(self.env).project
        language = self.config.language or project.languages[0]
        text = print_strings(project, language)["untranslated_chapter"]
        return f'<p class="untranslated-note" lang="{language}">{_escape(text)}</p>\n'

    def mark_untranslated(self, chapter: nodes.container) -> None:
        """A chapter with no catalogue in the pack's language: a note in that
        language under its title, and its text marked as the source language."""
        source = state_for(self.env).project.languages[0]
        note = nodes.raw("", self.untranslated_note, format="html")
        section = next((c for c in chapter.children if isinstance(c, nodes.section)), None)
        if section is not None:
            section.insert(1 if section.children and isinstance(section[0], nodes.title) else 0, note)
        chapter.insert(0, nodes.raw("", f'<div lang="{source}">\n', format="html"))
        chapter.append(nodes.raw("", "</div>\n", format="html"))

    def part_word(self) -> str:
        return {"de": "Teil"}.get(self.config.language or "en", "Part")

    def fix_ids(self, tree: nodes.document) -> None:
        """Prefix every id with its page; point every internal link at the new id."""
        mapping: dict[str, dict[str, str]] = {}
        chapters = [n for n in tree.children if isinstance(n, nodes.container) and n.get("docname")]
        for chapter in chapters:
            doc = chapter["docname"]
            prefix = doc_slug(doc) + "--"
            table = mapping.setdefault(doc, {})
            used: set[str] = set()
            for node in chapter.findall(nodes.Element):
                if node is chapter:
                    continue
                new_ids = []
                for old in node["ids"]:
                    table.setdefault(old, prefix + old)
                    new = table[old]
                    n = 1
                    while new in used:  # furo's table wrapper copies the table's id
                        n += 1
                        new = f"{table[old]}-{n}"
                    used.add(new)
                    new_ids.append(new)
                node["ids"] = new_ids
        for chapter in chapters:
            doc = chapter["docname"]
            for node in chapter.findall(nodes.Element):
                if node.get("pack_global"):
                    continue
                if "refid" in node and node["refid"] in mapping[doc]:
                    node["refid"] = mapping[doc][node["refid"]]
                if node.get("backrefs"):
                    node["backrefs"] = [mapping[doc].get(b, b) for b in node["backrefs"]]
                if isinstance(node, nodes.reference) and node.get("refuri", "").startswith("#document-"):
                    target = node["refuri"][len("#document-") :]
                    target_doc, _, target_id = target.partition("#")
                    del node["refuri"]
                    if target_id:
                        new = mapping.get(target_doc, {}).get(target_id)
                        if new is None:
                            logger.warning(
                                f"link to {target_doc}#{target_id}: no such anchor in the pack",
                                type="citydiplo",
                                subtype="print",
                                location=node,
                            )
                            new = doc_anchor(target_doc)
                        node["refid"] = new
                    else:
                        node["refid"] = doc_anchor(target_doc)

    @staticmethod
    def number_sections(chapter: nodes.container, info: dict) -> None:
        """``3`` on the page title, ``3.1`` on its sections, ``3.1.2`` below."""
        number = info["number"]

        def walk(section: nodes.section, prefix: str, level: int) -> None:
            count = 0
            for child in section.children:
                if not isinstance(child, nodes.section):
                    continue
                count += 1
                sub = f"{prefix}.{count}"
                title = child[0] if child.children and isinstance(child[0], nodes.title) else None
                if title is not None:
                    is_sources = title.astext().strip().casefold() in SOURCES_TITLES
                    if is_sources:
                        child["classes"].append("sources")
                    if level == 2 and not is_sources:
                        info["sections"].append(
                            {"number": sub, "title": title.astext(), "anchor": child["ids"][0] if child["ids"] else ""}
                        )
                    if level <= 3:
                        title.insert(0, nodes.inline(sub, sub, classes=["secnum"]))
                        title.insert(1, nodes.Text(" "))
                if level < 3:
                    walk(child, sub, level + 1)

        top = next((c for c in chapter.children if isinstance(c, nodes.section)), None)
        if top is None:
            return
        if top.children and isinstance(top[0], nodes.title):
            top[0].insert(0, nodes.inline(number, number, classes=["secnum"]))
            top[0].insert(1, nodes.Text(" "))
        walk(top, number, 2)

    def finish(self) -> None:
        self.copy_image_files()


def slide_material(doctree: nodes.document) -> tuple[list[dict], list[dict]]:
    """What the slides take from a page (:mod:`citydiplo.print.slides`): the key
    messages of its facilitator notes (trainer edition) and its diagrams."""
    notes = []
    for node in doctree.findall(nodes.admonition):
        if "facilitator-note" not in node["classes"] or "session" not in node:
            continue
        messages = [
            " ".join(item.astext().split())
            for block in node.findall(nodes.Element)
            if isinstance(block, (nodes.bullet_list, nodes.enumerated_list)) and "key-messages" in block["classes"]
            for item in block.children
        ]
        notes.append({"session": node["session"], "key_messages": messages})
    diagrams = [
        {"key": node["diagram"]}
        for node in doctree.findall(nodes.container)
        if "forum-diagram" in node["classes"] and node.get("diagram")
    ]
    return notes, diagrams


def page_break_before(node: nodes.Element, chapter: nodes.container) -> None:
    """Start ``node`` on a new page, together with the headings right above
    it: when it is the first thing in its section, the section breaks
    instead (and so on up); a chapter starts on a new page anyway."""
    target = node
    while isinstance(target.parent, nodes.section):
        section = target.parent
        before = section.children[: section.index(target)]
        if any(not isinstance(child, (nodes.title, nodes.target, nodes.raw)) for child in before):
            break
        target = section
    if isinstance(target, nodes.section) and target.parent is chapter:
        return  # the chapter starts on a new page anyway
    target["classes"].append("page-break-before")


#: The longest running head (characters); a longer title is cut at a word, with "…"
HEAD_LIMIT = 58


def short_head(text: str, limit: int = HEAD_LIMIT) -> str:
    """A running head that fits its box: the text, or its first words and "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;–-")
    return cut + "…"


def running_head_html(text: str) -> str:
    """An empty element whose ``data-head`` sets the running head (string-set in coursepack.css)."""
    head = _escape(short_head(text)).replace('"', "&quot;")
    return f'<div class="running-head" data-head="{head}"></div>'


def running_head(text: str) -> nodes.raw:
    return nodes.raw("", running_head_html(text) + "\n", format="html")


TH_RE = re.compile(r"<th(?=[\s>])(?![^>]*\bscope=)([^>]*)>")


def with_header_scopes(html: str) -> str:
    """Table header cells say what they head (``scope``), so that the tagged
    PDF and screen readers tie each cell to its header: a header row's cells
    head their column, a stub cell its row."""

    def scope(match: re.Match) -> str:
        attrs = match.group(1)
        kind = "row" if re.search(r'class="[^"]*\bstub\b', attrs) else "col"
        return f'<th scope="{kind}"{attrs}>'

    return TH_RE.sub(scope, html)


def _bare(uri: str) -> str:
    """An address as printed: without ``https://``, ``mailto:`` and a final slash."""
    return re.sub(r"^(https?://|mailto:)", "", uri).rstrip("/")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- the EPUB
class EpubBuilder(Epub3Builder):
    """Sphinx's EPUB 3 builder with the book's metadata (its edition, a
    stable identifier per edition and language, contributors, accessibility,
    the title in the book's language), a cover drawn from those words
    (:mod:`citydiplo.print.cover`, where ``epub_cover`` names it) and the
    ``svg`` property on the pages that hold a drawing (``forum-diagram``),
    which EPUB requires of inline SVG."""

    name = "epub"

    @functools.cached_property
    def book(self) -> dict[str, str]:
        import uuid

        project = state_for(self.env).project
        language = self.config.language or project.languages[0]
        edition = self.config.citydiplo_edition
        strings = self.print_strings
        words = strings.get(f"edition_{edition}", edition)
        title = self.translated(self.config.epub_title)
        return {
            "identifier": "urn:uuid:"
            + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project.base_iri}epub/{language}/{edition}")),
            "edition": f"{words}, {self.config.version}",
            "title": f"{title} ({words})" if edition != "participant" else title,
            "plain_title": title,
        }

    @property
    def guide_titles(self) -> dict[str, str]:  # type: ignore[override]
        """The names of the table of contents (the navigation document's
        heading) and of the cover page, in the book's language (Sphinx's are
        English in every book)."""
        strings = self.print_strings
        return {"toc": strings["epub_toc"], "cover": strings["epub_cover_page"]}

    def translated(self, text: str) -> str:
        """``text`` in the book's language, from the root page's catalogue
        (where the handbook's title is translated), else as it is."""
        import gettext
        from pathlib import Path

        for folder in self.config.locale_dirs:
            mo = Path(self.srcdir, folder, self.config.language or "", "LC_MESSAGES", f"{self.config.root_doc}.mo")
            if mo.is_file():
                with mo.open("rb") as handle:
                    return gettext.GNUTranslations(handle).gettext(text)
        return text

    def cover_words(self) -> dict[str, str]:
        strings = self.print_strings
        words = {
            "title": self.book["plain_title"],
            "edition": self.book["edition"],
            "language": strings["epub_cover_language"],
        }
        return {**words, "alt": strings["epub_cover_alt"].format(**words)}

    def handle_page(self, pagename: str, addctx: dict, *args: Any, **kwargs: Any) -> None:
        if pagename == posixpath.splitext(self.coverpage_name)[0]:
            addctx = {**addctx, "cover_alt": self.cover_words()["alt"], "title": self.book["title"]}
        super().handle_page(pagename, addctx, *args, **kwargs)

    @functools.cached_property
    def print_strings(self) -> dict[str, str]:
        from .coursepack import print_strings

        project = state_for(self.env).project
        return print_strings(project, self.config.language or project.languages[0])

    def get_toc(self) -> None:
        """The table of contents in reading order: a section that follows a
        page's toctree (its ``Sources``, after the pages listed above it)
        comes after those pages in the book, so the contents leave it out
        rather than jump back; levels never skip one."""
        super().get_toc()
        kept: list[dict[str, Any]] = []
        seen: set[str] = set()
        current = None
        for node in self.refnodes:
            page = node["refuri"].split("#")[0]
            if page != current and page in seen:
                continue
            seen.add(page)
            current = page
            previous = kept[-1]["level"] if kept else 0
            kept.append({**node, "level": min(node["level"], previous + 1)})
        self.refnodes = kept

    def content_metadata(self) -> dict[str, Any]:
        metadata = super().content_metadata()
        metadata["id"] = html.escape(self.book["identifier"])
        metadata["title"] = html.escape(self.book["title"])
        return metadata

    def toc_metadata(self, level: int, navpoints: list) -> dict[str, Any]:
        metadata = super().toc_metadata(level, navpoints)
        metadata["uid"] = html.escape(self.book["identifier"])  # the NCX names the OPF's identifier
        metadata["title"] = html.escape(self.book["title"])
        return metadata

    def build_content(self) -> None:
        from .cover import COVER_NAME, draw_cover

        image = self.config.epub_cover[0] if self.config.epub_cover else ""
        if posixpath.basename(image) == COVER_NAME:
            words = self.cover_words()
            project = state_for(self.env).project
            draw_cover(
                self.outdir / image,
                words["title"],
                words["edition"],
                words["language"],
                self.config.epub_publisher or project.publisher,
                subtitle=self.print_strings["epub_cover_subtitle"],
            )
        # the cover page of a previous build would be taken for a page of the
        # book as well as the cover (two itemrefs to it: EPUBCheck RSC-005);
        # Sphinx writes it again below
        (self.outdir / self.coverpage_name).unlink(missing_ok=True)
        super().build_content()
        opf = self.outdir / "content.opf"
        text = opf.read_text(encoding="utf-8")
        if image:  # EPUB 3 finds the cover by this property (the <meta name="cover"> is for EPUB 2)
            text = re.sub(
                rf'(<item id="[^"]+" href="{re.escape(html.escape(image))}" media-type="image/[^"]+") />',
                r'\1 properties="cover-image" />',
                text,
            )
        with_svg = {
            path.relative_to(self.outdir).as_posix()
            for path in self.outdir.rglob("*.xhtml")
            if "<svg" in path.read_text(encoding="utf-8")
        }

        def properties(match: re.Match) -> str:
            return (
                match.group(0)[:-2].rstrip() + ' properties="svg" />' if match.group(1) in with_svg else match.group(0)
            )

        text = re.sub(r'<item id="[^"]+" href="([^"]+)" media-type="application/xhtml\+xml" />', properties, text)
        if self.config.epub_contributor in ("", "unknown"):  # Sphinx's default says nothing
            text = re.sub(r"\s*<dc:contributor>[^<]*</dc:contributor>", "", text)
        summary = self.print_strings.get("epub_accessibility", EPUB_ACCESSIBILITY)
        extra = [
            f'<meta property="schema:bookEdition">{html.escape(self.book["edition"])}</meta>',
            '<meta property="schema:accessMode">textual</meta>',
            '<meta property="schema:accessMode">visual</meta>',
            '<meta property="schema:accessModeSufficient">textual</meta>',
            *(
                f'<meta property="schema:accessibilityFeature">{feature}</meta>'
                for feature in ("structuralNavigation", "tableOfContents", "longDescription", "readingOrder")
            ),
            '<meta property="schema:accessibilityHazard">none</meta>',
            f'<meta property="schema:accessibilitySummary">{html.escape(summary)}</meta>',
        ]
        text = text.replace("  </metadata>", "".join(f"    {line}\n" for line in extra) + "  </metadata>", 1)
        opf.write_text(text, encoding="utf-8")


EPUB_ACCESSIBILITY = (
    "Headings, a table of contents and page order follow the handbook. Each drawing has a title, "
    "a description and the list of its relations as text under it."
)


def setup(app):
    app.add_builder(CoursePackBuilder)
    app.add_builder(EpubBuilder, override=True)
    app.add_config_value("citydiplo_print_site_url", "", "env", types=[str])
    app.add_post_transform(PrintForms)
    app.add_post_transform(WritingLines)
    app.add_post_transform(OutsideDocLinks)
    app.add_post_transform(EpubFixes)
    app.connect("missing-reference", on_missing_reference)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
