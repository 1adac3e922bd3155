"""Course packs: printable PDFs of training modules, built from the same
pages as the website, in a participant and a trainer edition.

``conf/coursepacks.toml`` defines the packs. For one pack and edition:

1. :func:`pack_documents` follows the toctrees of the pack's pages to every
   page it holds; :func:`check_components` makes sure each component they use
   has a print form (:mod:`citydiplo.print.forms`);
2. a generated root page ``handbook/_coursepacks/<name>.md`` (git-ignored,
   excluded from the website) holds a hidden toctree of the pack's pages;
3. Sphinx reads only those pages and the ``coursepack`` builder
   (:mod:`citydiplo.print.builder`) writes them as flat, numbered chapters plus
   an outline (``build/.coursepack/<name>-<edition>/``), warnings as errors;
4. :func:`compose_html` adds the cover, the table of contents and the
   glossary appendix, with the print stylesheet from ``conf/print/``;
5. :func:`render_pdf` renders it with WeasyPrint (no TeX) and fails on any
   WeasyPrint warning (a link without an anchor, a glyph no font has, CSS it
   ignored); the PDF is written to a temporary file and renamed into
   ``build/coursepacks/<name>-<edition>.pdf``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import re
import shutil
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Project
from ..files import write_if_changed
from ..graph.views import today as build_date
from .agenda import DAYS, AgendaError, AgendaSettings, load_agenda_settings, make_agenda
from .handouts import Workshop, handouts

EDITIONS = ("participant", "trainer")
PACKS_FILE = Path("conf") / "coursepacks.toml"
PRINT_DIR = Path("conf") / "print"
#: The extra rules for double-sided printing (``--duplex``), in ``conf/print/``
DUPLEX_CSS = "duplex.css"
PACK_SOURCE_DIR = "_coursepacks"
GENERATED_PREFIXES = ("id/", "def/", "reference/generated/")
LICENCE_NAMES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
}


class CoursePackError(Exception):
    """A pack cannot be built; the message says where and why."""


#: Cover texts of a pack that [packs.NAME.LANG] may give in another language
TRANSLATABLE = ("title", "subtitle", "audience", "duration", "short_title")


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    audience: str
    duration: str
    contents: tuple[str, ...]
    subtitle: str = ""
    #: (optional) the title in the running head, when the title is long
    short_title: str = ""
    line: int = 0
    #: language → {title, subtitle, audience, duration} from [packs.NAME.LANG]
    translations: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def in_language(self, language: str) -> Pack:
        """The pack with its cover texts in ``language`` where the definition gives them."""
        return dataclasses.replace(self, **self.translations.get(language, {}))


@dataclass(frozen=True)
class PackSettings:
    site_url: str
    packs: dict[str, Pack]
    agenda: AgendaSettings = field(default_factory=AgendaSettings)


@dataclass
class PackResult:
    pack: Pack
    edition: str
    pdf: Path
    html: Path
    pages: int
    seconds: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    outline: dict = field(default_factory=dict)


# ------------------------------------------------------------ definitions
def _line_of(text: str, name: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*\[\s*packs\.\"?{re.escape(name)}\"?\s*\]", line):
            return number
    return 1


def load_packs(project: Project) -> PackSettings:
    """Read ``conf/coursepacks.toml``; mistakes as ``conf/coursepacks.toml:LINE: …``."""
    path = project.root / PACKS_FILE
    if not path.is_file():
        raise CoursePackError(f"{PACKS_FILE}: not found; it defines the course packs")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CoursePackError(f"{PACKS_FILE}: {exc}") from None
    settings = data.get("settings", {})
    try:
        agenda = load_agenda_settings(settings.get("agenda", {}), f"{PACKS_FILE}: [settings.agenda]")
    except AgendaError as exc:
        raise CoursePackError(str(exc)) from None
    site_url = settings.get("site_url", project.base_iri)
    if not site_url.endswith("/"):
        site_url += "/"
    packs: dict[str, Pack] = {}
    problems = []
    other_languages = set(project.languages[1:])
    keys = {*TRANSLATABLE, "contents"} | other_languages
    for name, entry in data.get("packs", {}).items():
        line = _line_of(text, name)
        where = f"{PACKS_FILE}:{line}: pack {name!r}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            problems.append(f"{where}: the name must be kebab-case (it becomes the file name)")
        missing = [key for key in ("title", "audience", "duration", "contents") if not entry.get(key)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        unknown = sorted(set(entry) - keys)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        translations = {}
        for language in sorted(other_languages & set(entry)):
            texts = entry[language]
            wrong = sorted(set(texts) - set(TRANSLATABLE)) if isinstance(texts, dict) else ["(not a table)"]
            if wrong:
                problems.append(
                    f"{where}: [packs.{name}.{language}] may only hold {', '.join(TRANSLATABLE)}; "
                    f"not {', '.join(wrong)}"
                )
            else:
                translations[language] = {key: str(value) for key, value in texts.items()}
        contents = []
        for item in entry["contents"]:
            doc = resolve_doc(project.handbook_dir, str(item))
            if doc is None:
                problems.append(f"{where}: no page or module {item!r} in {project.rel(project.handbook_dir)}/")
            else:
                contents.append(doc)
        packs[name] = Pack(
            name=name,
            title=entry["title"],
            subtitle=entry.get("subtitle", ""),
            short_title=entry.get("short_title", ""),
            audience=entry["audience"],
            duration=entry["duration"],
            contents=tuple(contents),
            line=line,
            translations=translations,
        )
    if problems:
        raise CoursePackError("\n".join(problems))
    if not packs:
        raise CoursePackError(f"{PACKS_FILE}: no [packs.NAME] table")
    return PackSettings(site_url=site_url, packs=packs, agenda=agenda)


def resolve_doc(handbook: Path, item: str) -> str | None:
    """``modules/gfmd`` (a folder with index.md), ``how-to/make-a-pledge``
    or ``how-to/make-a-pledge.md`` → the docname, or None."""
    item = item.strip().strip("/").removesuffix(".md")
    if (handbook / item / "index.md").is_file():
        return f"{item}/index"
    if (handbook / f"{item}.md").is_file():
        return item
    return None


# ------------------------------------------------------------ toctrees
TOCTREE_RE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{toctree\}")


def toctree_entries(text: str) -> list[tuple[str, bool]]:
    """The entries of every toctree in a MyST page: (entry, is a glob)."""
    entries: list[tuple[str, bool]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = TOCTREE_RE.match(lines[i].strip())
        i += 1
        if not match:
            continue
        fence = match["fence"]
        glob = False
        block = []
        while i < len(lines) and lines[i].strip() != fence:
            block.append(lines[i].strip())
            i += 1
        i += 1
        for line in block:
            if line == ":glob:":
                glob = True
        for line in block:
            if not line or line.startswith(":") or line.startswith("#"):
                continue
            target = re.sub(r"^.*<([^<>]+)>$", r"\1", line).strip()
            if target == "self" or re.match(r"^[a-z]+://", target):
                continue
            entries.append((target, glob and any(ch in target for ch in "*?[")))
    return entries


def _join(base: str, target: str) -> str:
    import posixpath

    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def pack_documents(handbook: Path, contents: tuple[str, ...] | list[str]) -> list[str]:
    """Every page a pack holds: its pages and, through their toctrees, all
    pages below them, depth-first, each once."""
    import fnmatch

    found: list[str] = []
    seen: set[str] = set()
    all_docs: list[str] | None = None

    def visit(doc: str) -> None:
        nonlocal all_docs
        if doc in seen:
            return
        path = handbook / f"{doc}.md"
        if not path.is_file():
            raise CoursePackError(f"{doc}.md: not found in {handbook}")
        seen.add(doc)
        found.append(doc)
        for target, is_glob in toctree_entries(path.read_text(encoding="utf-8")):
            target = _join(doc, target.removesuffix(".md"))
            if is_glob:
                if all_docs is None:
                    all_docs = sorted(str(p.relative_to(handbook).with_suffix("")) for p in handbook.rglob("*.md"))
                for match in all_docs:
                    if fnmatch.fnmatch(match, target) and match != doc:
                        visit(match)
            elif (handbook / f"{target}.md").is_file():
                visit(target)
            # a missing entry is left to Sphinx, which reports it with its location

    for doc in contents:
        visit(doc)
    return found


def check_components(project: Project, docs: list[str]) -> None:
    """Fail when a page of the pack uses a component without a print form."""
    from .forms import scan_files, unsupported

    uses = scan_files([project.handbook_dir / f"{doc}.md" for doc in docs], project.root)
    bad = unsupported(uses)
    if bad:
        raise CoursePackError("\n".join(str(use) for use in bad))


def root_page(pack: Pack) -> str:
    """The generated root page of a pack: its title and a hidden toctree."""
    entries = "\n".join(f"/{doc}" for doc in pack.contents)
    return (
        "---\n"
        "citydiplo_generated: true\n"
        "---\n\n"
        f"<!-- Generated by `citydiplo coursepack {pack.name}` from conf/coursepacks.toml; not edited by hand. -->\n\n"
        f"# {pack.title}\n\n"
        "```{toctree}\n:hidden:\n\n"
        f"{entries}\n"
        "```\n"
    )


# ------------------------------------------------------------ Sphinx
def sphinx_overrides(project: Project, pack: Pack, docs: list[str], edition: str, language: str, site_url: str):
    from sphinx.config import eval_config_file
    from sphinx.util.tags import Tags

    conf = eval_config_file(project.conf_dir / "conf.py", Tags())
    extensions = list(conf.get("extensions", []))
    if "citydiplo.print.builder" not in extensions:
        extensions.append("citydiplo.print.builder")
    exclude = [p for p in conf.get("exclude_patterns", []) if not p.startswith(PACK_SOURCE_DIR)]
    root = f"{PACK_SOURCE_DIR}/{pack.name}"
    return {
        "extensions": extensions,
        "root_doc": root,
        "include_patterns": [f"{root}.md"] + [f"{doc}.md" for doc in docs],
        "exclude_patterns": exclude,
        "language": language,
        "citydiplo_edition": edition,
        "citydiplo_validate": False,
        "citydiplo_compile": any(doc.startswith(GENERATED_PREFIXES) for doc in docs),
        "html_permalinks": False,
        "citydiplo_print_site_url": site_url,
    }


def run_pack_sphinx(project: Project, pack: Pack, docs: list[str], edition: str, language: str, site_url: str, status):
    from sphinx.errors import SphinxError

    from ..site.build import run_sphinx

    tag = f"{pack.name}-{edition}" + (f"-{language}" if language != project.languages[0] else "")
    outdir = project.build_dir / ".coursepack" / tag
    doctrees = project.build_dir / ".doctrees" / "coursepack" / tag
    overrides = sphinx_overrides(project, pack, docs, edition, language, site_url)
    try:
        code = run_sphinx(project, outdir, doctrees, "coursepack", overrides, 1, status=status)
        reason = "Sphinx reported warnings (listed above)"
    except SphinxError as exc:
        code, reason = 1, f"Sphinx stopped: {exc}"
    if code != 0:
        shutil.rmtree(doctrees, ignore_errors=True)
        raise CoursePackError(f"pack {pack.name!r} ({edition}): {reason}")
    outline = json.loads((outdir / "pack.json").read_text(encoding="utf-8"))
    body = (outdir / "body.html").read_text(encoding="utf-8")
    return outdir, body, outline, pack_view(project)


def pack_view(project: Project):
    """The graph view of the pack build that has just run (the slides draw
    their diagrams from it), handing its vocabulary on to the next pack built
    in this process, so vocab/ is read once per process (when unchanged)."""
    from ..graph.load import hand_on
    from ..site.sphinxext import last_state

    state = last_state(project.handbook_dir)
    if state is None:  # pragma: no cover - the extension sets it in builder-inited
        return None
    hand_on(state.vocab)
    return state.view


# ------------------------------------------------------------ HTML
def print_strings(project: Project, language: str) -> dict[str, str]:
    data = tomllib.loads((project.root / PRINT_DIR / "strings.toml").read_text(encoding="utf-8"))
    strings = dict(data["en"])
    strings.update(data.get(language, {}))
    return strings


def format_date(date: dt.date, language: str) -> str:
    months = {
        "en": "January February March April May June July August September October November December",
        "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    }
    names = months.get(language, months["en"]).split()
    if language == "de":
        return f"{date.day}. {names[date.month - 1]} {date.year}"
    return f"{date.day} {names[date.month - 1]} {date.year}"


def agendas(
    outline: dict, settings: AgendaSettings, day: str, start: str | None, strings: dict[str, str]
) -> list[dict]:
    """One agenda per module of the pack that has a session table, with clock times."""
    start = start or settings.start
    found = []
    for module in outline.get("sessions", []):
        agenda = make_agenda(module["sessions"], day, start, settings.breaks[day])
        if not agenda["rows"]:
            continue
        agenda["title"] = module["title"]
        agenda["lead"] = strings[f"agenda_{day}"].format(start=agenda["start"], end=agenda["end"])
        agenda["total"] = strings["agenda_total"].format(
            sessions=agenda["session_minutes"], breaks=agenda["break_minutes"]
        )
        found.append(agenda)
    return found


def compose_html(
    project: Project,
    pack: Pack,
    edition: str,
    body: str,
    outline: dict,
    site_url: str,
    agenda_settings: AgendaSettings | None = None,
    day: str = "full",
    start: str | None = None,
    workshop: Workshop | None = None,
    duplex: bool = False,
) -> str:
    """The whole pack as one HTML page: cover, colophon, contents, chapters,
    glossary and the forms (:mod:`citydiplo.print.handouts`); ``duplex`` adds
    the rules for double-sided printing (``conf/print/duplex.css``)."""
    import jinja2

    language = outline.get("language", project.languages[0])
    strings = print_strings(project, language)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project.root / PRINT_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    template = env.get_template("coursepack.html.j2")
    parts = {p["anchor"]: p for p in outline["parts"]}
    toc_depth = 1 if parts else 2
    date = build_date()  # today, or $SOURCE_DATE_EPOCH (graph.views.today)
    colophon = {
        "about": strings["about_text"].format(project=project.name, site=site_url),
        "licence": strings["licence_text"].format(
            licence=LICENCE_NAMES.get(project.licence, project.licence),
            url=project.licence,
            publisher=project.publisher,
            project=project.name,
            version=project.version,
        ),
        "built": strings["built_with"].format(date=format_date(date, language)),
    }
    from .builder import short_head

    pack_agendas = agendas(outline, agenda_settings or AgendaSettings(), day, start, strings)
    forms = handouts(
        workshop or Workshop(),
        edition,
        pack_agendas,
        outline["chapters"],
        pack.title,
        strings,
        format_date,
        language,
    )
    extra_css = ""
    if duplex:
        from markupsafe import Markup

        extra_css = Markup((project.root / PRINT_DIR / DUPLEX_CSS).read_text(encoding="utf-8"))
    return template.render(
        agendas=pack_agendas,
        forms=forms,
        duplex=duplex,
        extra_css=extra_css,
        pack_head=short_head(pack.short_title or pack.title, 40),
        colophon=colophon,
        pack=pack,
        edition=edition,
        edition_label=strings[f"edition_{edition}"],
        s=strings,
        lang=language,
        project=project,
        licence_name=LICENCE_NAMES.get(project.licence, project.licence),
        date=format_date(date, language),
        iso_date=date.isoformat(),
        site_url=site_url,
        chapters=outline["chapters"],
        parts=parts,
        toc_depth=toc_depth,
        glossary=outline["glossary"],
        body=body,
        generator=outline.get("generator", "citydiplo"),
    )


# ------------------------------------------------------------ PDF
class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def languages_in_tags():
    """Give the tagged PDF's structure elements the language of their HTML element.

    WeasyPrint writes the document's language (``<html lang>``) into the
    catalogue, but not the ``lang`` of the elements inside: an untranslated
    chapter of a German pack (``<div lang="en">``, see
    :meth:`citydiplo.print.builder.CoursePackBuilder.mark_untranslated`) would
    be read aloud as German. While this is active, every structure element
    made from an element with a ``lang`` attribute gets ``/Lang`` (PDF 1.7,
    14.9.2); the others inherit it from their parent, up to the catalogue.
    It wraps WeasyPrint's tagging function (``weasyprint.pdf.tags``); yields
    False when that function is not there (another WeasyPrint), so that the
    caller can say so."""
    try:
        import pydyf
        from weasyprint.formatting_structure import boxes
        from weasyprint.pdf import tags
    except ImportError:  # pragma: no cover - WeasyPrint is a dependency
        yield False
        return
    original = getattr(tags, "_build_box_tree", None)
    if original is None:
        yield False
        return

    def build_box_tree(box, parent, *args):
        element = getattr(box, "element", None)
        lang = None
        if (
            element is not None
            and not isinstance(box, (boxes.PageBox, boxes.MarginBox))
            and getattr(box, "element_tag", None) not in ("html", "body")
        ):
            lang = element.get("lang")
        for struct in original(box, parent, *args):
            if lang and "Lang" not in struct:
                struct["Lang"] = pydyf.String(lang)
            yield struct

    tags._build_box_tree = build_box_tree
    try:
        yield True
    finally:
        tags._build_box_tree = original


def render_pdf(html_text: str, base_dir: Path, stylesheet: Path, out: Path, relayout=None) -> int:
    """Render with WeasyPrint into ``out`` (atomically); returns the page count.

    Any WeasyPrint warning or error fails the render: a link to a missing
    anchor, a character that no installed font has (``.notdef``), CSS it
    ignored. The old ``out`` is kept then. ``relayout(document, html)``, when
    given, looks at the laid-out pages before anything is written and returns
    the HTML to lay out instead (at most three times), or None when the pages
    are right.
    """
    collect = _Collect()
    wp_logger = logging.getLogger("weasyprint")
    progress = logging.getLogger("weasyprint.progress")
    progress_level = progress.level
    progress.setLevel(logging.WARNING)
    wp_logger.addHandler(collect)
    try:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()

        def lay_out(text: str):
            return HTML(string=text, base_url=str(base_dir) + "/").render(
                stylesheets=[CSS(filename=str(stylesheet), font_config=fonts)], font_config=fonts
            )

        document = lay_out(html_text)
        for _attempt in range(3 if relayout else 0):
            changed = relayout(document, html_text)
            if changed is None or changed == html_text:
                break
            html_text = changed
            document = lay_out(html_text)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        # PDF/UA-1: a tagged PDF (structure tree, language, title shown) that
        # screen readers can follow; about 20 % slower and 70 % larger.
        with languages_in_tags() as tagged:
            document.write_pdf(tmp, pdf_variant="pdf/ua-1")
        if not tagged and 'lang="' in html_text.split("<body", 1)[-1]:
            collect.messages.append(
                "this WeasyPrint has no weasyprint.pdf.tags._build_box_tree: the parts in another language "
                "cannot be marked with /Lang (citydiplo.print.coursepack.languages_in_tags)"
            )
    finally:
        wp_logger.removeHandler(collect)
        progress.setLevel(progress_level)
    if collect.messages:
        tmp.unlink(missing_ok=True)
        shown = sorted(set(collect.messages))
        more = f"\n… and {len(shown) - 20} more" if len(shown) > 20 else ""
        raise CoursePackError(
            f"{out.name}: WeasyPrint reported {len(collect.messages)} problem(s); no PDF written:\n  "
            + "\n  ".join(shown[:20])
            + more
        )
    tmp.replace(out)
    return len(document.pages)


# ------------------------------------------------------------ no page of lines alone
_WRITE_SPACE = re.compile(r'(<div class="write-space[^"]*">)((?:<div class="write-line"></div>)+)')


def tag_write_spaces(html_text: str) -> str:
    """Number the ruled lines of each space to write (an exercise's, a
    knowledge-check answer's): ``data-write="N"`` on each line of the Nth."""
    counter = iter(range(1, 1_000_000))

    def tagged(match: re.Match) -> str:
        line = f'<div class="write-line" data-write="{next(counter)}">'
        return match[1] + match[2].replace('<div class="write-line">', line)

    return _WRITE_SPACE.sub(tagged, html_text)


def lines_alone(document) -> dict[str, int]:
    """The spaces to write whose last lines ran onto a page that holds
    nothing else (no text apart from the running heads and the footer): a
    stub page. Space number (``data-write``) → its lines on that page."""
    from weasyprint.formatting_structure import boxes

    found: dict[str, int] = {}
    for page in document.pages:
        lines: dict[str, set[int]] = {}
        text = False
        for child in page._page_box.children:
            if isinstance(child, boxes.MarginBox):
                continue
            for box in child.descendants():
                if isinstance(box, boxes.TextBox) and box.text.strip():
                    text = True
                    break
                element = getattr(box, "element", None)
                number = element.get("data-write") if element is not None else None
                if number:
                    lines.setdefault(number, set()).add(id(element))
            if text:
                break
        if not text:
            for number, elements in lines.items():
                found[number] = found.get(number, 0) + len(elements)
    return found


def without_lines_alone(document, html_text: str) -> str | None:
    """``html_text`` with the lines that ran onto a page of their own taken
    out of their space to write (and, for an exercise's, one more: its box's
    bottom edge ran over too), so that the exercise or the answer ends on
    the page before; None when no page is only lines. The ``relayout`` of
    :func:`render_pdf` for the course packs."""
    spilled = lines_alone(document)
    if not spilled:
        return None
    for number, count in spilled.items():
        line = f'<div class="write-line" data-write="{number}"></div>'
        edge = 0 if f'<div class="write-space writing-space">{line}' in html_text else 1
        have = html_text.count(line)
        html_text = html_text.replace(line * have, line * max(0, have - count - edge))
    return html_text


# ------------------------------------------------------------ the whole job
def pdf_path(project: Project, name: str, edition: str, language: str | None = None) -> Path:
    suffix = f"-{language}" if language and language != project.languages[0] else ""
    return project.build_dir / "coursepacks" / f"{name}-{edition}{suffix}.pdf"


def build_pack(
    project: Project,
    pack: Pack,
    edition: str,
    settings: PackSettings,
    language: str | None = None,
    status=None,
    day: str = "full",
    start: str | None = None,
    workshop: Workshop | None = None,
    duplex: bool = False,
) -> PackResult:
    """Build one pack in one edition; returns where the PDF is and how long each step took."""
    if edition not in EDITIONS:
        raise CoursePackError(f"unknown edition {edition!r}: choose {' or '.join(EDITIONS)}")
    if day not in DAYS:
        raise CoursePackError(f"unknown day {day!r}: choose {' or '.join(DAYS)}")
    workshop_start = start  # ``start`` is reused below for the timings
    if workshop_start is not None:
        try:
            from .agenda import parse_time

            parse_time(workshop_start)
        except AgendaError as exc:
            raise CoursePackError(f"--start: {exc}") from None
    language = language or project.languages[0]
    pack = pack.in_language(language)
    status = status if status is not None else io.StringIO()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    docs = pack_documents(project.handbook_dir, pack.contents)
    check_components(project, docs)
    write_if_changed(project.handbook_dir / PACK_SOURCE_DIR / f"{pack.name}.md", root_page(pack))
    seconds["prepare"] = time.perf_counter() - start

    start = time.perf_counter()
    outdir, body, outline, _view = run_pack_sphinx(project, pack, docs, edition, language, settings.site_url, status)
    seconds["sphinx"] = time.perf_counter() - start

    start = time.perf_counter()
    page = compose_html(
        project, pack, edition, body, outline, settings.site_url, settings.agenda, day, workshop_start, workshop, duplex
    )
    page = tag_write_spaces(page)
    html_path = outdir / "pack.html"
    html_path.write_text(page, encoding="utf-8")
    laid_out = [page]

    def relayout(document, html_text: str) -> str | None:
        # a page holding only the last lines of an exercise's space to write is a stub: fewer lines
        changed = without_lines_alone(document, html_text)
        if changed is not None:
            laid_out.append(changed)
        return changed

    out = pdf_path(project, pack.name, edition, language)
    stylesheet = project.root / PRINT_DIR / "coursepack.css"
    pages = render_pdf(page, outdir, stylesheet, out, relayout)
    if laid_out[-1] != page:
        html_path.write_text(laid_out[-1], encoding="utf-8")  # what the PDF shows
    seconds["pdf"] = time.perf_counter() - start
    return PackResult(
        pack=pack,
        edition=edition,
        pdf=out,
        html=html_path,
        pages=pages,
        seconds=seconds,
        notices=list(outline.get("notices", [])),
        outline=outline,
    )


def validate_vocab(project: Project):
    """Validate vocab/ before any pack is built; the vocabulary is handed on
    (:func:`citydiplo.graph.load.hand_on`) to the pack's Sphinx run in this
    process, which then does not read vocab/ again. Returns it."""
    from ..graph.load import hand_on, load, take_over
    from ..graph.validate import errors, validate

    vocab = take_over(project) or load(project)
    problems = errors(validate(vocab))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise CoursePackError(f"{len(problems)} error(s) in vocab/ (listed above); no course pack was built")
    hand_on(vocab)
    return vocab


def _build_one(args: tuple) -> PackResult | CoursePackError:
    project, pack, edition, settings, verbose, kwargs = args
    try:
        return build_pack(project, pack, edition, settings, status=sys.stdout if verbose else io.StringIO(), **kwargs)
    except CoursePackError as exc:
        return exc


def side_by_side(function, tasks: list, workers: int = 1):
    """Run ``function(task)`` for every task, ``workers`` at a time in separate
    processes (a pack or a slide deck is one Sphinx build and one WeasyPrint
    render, both single-threaded). ``function`` is a module-level function that
    returns its result or the :class:`CoursePackError` it met, so that one
    failure does not stop the others. Yields ``(task, outcome)`` in the order
    of ``tasks``. The course packs and the slides share it."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, function(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the caller may have threads (a server, a browser driver)
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        yield from zip(tasks, pool.map(function, tasks), strict=True)


def build_packs(
    project: Project,
    jobs: list[tuple[Pack, str]],
    settings: PackSettings,
    workers: int = 1,
    verbose: bool = False,
    **kwargs,
):
    """Build several (pack, edition) pairs, ``workers`` at a time (:func:`side_by_side`).
    Yields ``(pack, edition, PackResult or CoursePackError)`` in the order of
    ``jobs``; a failed pack does not stop the others. ``verbose`` shows
    Sphinx's progress (then build one at a time)."""
    tasks = [(project, pack, edition, settings, verbose, kwargs) for pack, edition in jobs]
    for task, outcome in side_by_side(_build_one, tasks, 1 if verbose else workers):
        yield task[1], task[2], outcome
