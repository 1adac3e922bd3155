"""Slides: a 16:9 PDF per training module, to project in a workshop.

Built through the course-pack pipeline (no office suite): the module's pages
are read by the ``coursepack`` builder in the trainer edition
(:func:`citydiplo.print.coursepack.run_pack_sphinx`, sharing the trainer
pack's Sphinx cache when ``conf/coursepacks.toml`` has a pack of that module),
whose outline gives the session table (number, title, minutes, the pages each
session uses), the key messages of every ``facilitator-note`` and the
``forum-diagram`` each page shows. This module lays them out as slides:

1. a title slide (the module's title; the workshop's name and date when given);
2. one slide per session: its number, minutes and title, and its key
   messages; a session whose note is missing shows the titles of its pages
   instead, and the build warns naming it; messages that would not fit go on
   a second slide ("continued");
3. one slide per diagram the module's pages use, drawn from the graph; the
   forum architecture, too tall for one slide at a readable size, on one
   slide per pair of its tiers ("… (1 of 3)"), its text at least 9 pt.

:func:`render_pdf` (the packs' WeasyPrint step) renders it with
``conf/print/slides.css`` (254 × 142.9 mm pages, body text 24 pt); a slide
whose text runs onto a second page fails the build, naming the slide, and the
previous PDF is kept.
"""

from __future__ import annotations

import dataclasses
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Project
from ..files import write_if_changed
from ..paths import output_path
from .coursepack import (
    PACK_SOURCE_DIR,
    PRINT_DIR,
    CoursePackError,
    Pack,
    check_components,
    format_date,
    load_packs,
    pack_documents,
    print_strings,
    render_pdf,
    root_page,
    run_pack_sphinx,
    side_by_side,
)

SLIDES_DIR = "slides"
#: What a slide holds: lines of 24-pt text of about 50 characters (measured on the real slides)
CHARS_PER_LINE = 56
TITLE_CHARS = 40
LINES_PER_SLIDE = 8
#: The room for a diagram (mm): the page's width less its margins; its height
#: less its margins, a little to spare and the lines of the title above it
#: (28 pt, line height 1.15, 3 mm under it), of about DIAGRAM_TITLE_CHARS characters
DIAGRAM_WIDTH = 226.0
DIAGRAM_HEIGHT = 117.875 - 3.0 - 3.0
DIAGRAM_TITLE_LINE = 28 * 1.15 * 25.4 / 72
DIAGRAM_TITLE_CHARS = 46


class SlidesError(CoursePackError):
    """Slides cannot be built; the message says why."""


@dataclass
class Slide:
    kind: str  # title, session, diagram
    title: str
    number: int | None = None
    minutes: int | None = None
    items: list[str] = field(default_factory=list)
    items_label: str = ""
    continued: bool = False
    svg: str = ""
    extent: tuple[float, float] = (0, 0)  # of the drawing, in its own units
    font: float = 0  # its smallest text, in its own units
    title_lines: int = 0  # the title's lines that its size allows for
    size: tuple[float, float] = (0, 0)  # of the diagram on the slide, in mm
    links: list[dict] = field(default_factory=list)  # over the diagram's boxes: href, label, area (units), box (mm)

    @property
    def text_pt(self) -> float:
        """The size of the diagram's smallest text on the slide, in points."""
        return self.font * self.size[0] / self.extent[0] * 72 / 25.4 if self.extent[0] else 0.0


@dataclass
class SlidesResult:
    module: str
    pdf: Path
    slides: list[Slide]
    pages: int
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def modules(project: Project) -> list[str]:
    """The training modules: the folders of ``handbook/modules/`` with an index page."""
    root = project.handbook_dir / "modules"
    return sorted(p.parent.name for p in root.glob("*/index.md")) if root.is_dir() else []


def module_pack(project: Project, module: str) -> tuple[Pack, str]:
    """The pack that holds exactly this module (so the slides share its Sphinx
    cache), or one made for it; and the site URL for links out."""
    known = modules(project)
    if module not in known:
        raise SlidesError(
            f"unknown module {module!r}: the modules in {project.rel(project.handbook_dir)}/modules/ are "
            f"{', '.join(known) or 'none'}"
        )
    doc = f"modules/{module}/index"
    try:
        settings = load_packs(project)
    except CoursePackError:
        settings = None
    if settings is not None:
        for pack in settings.packs.values():
            if pack.contents == (doc,):
                return pack, settings.site_url
    site_url = settings.site_url if settings else project.base_iri
    return Pack(name=f"module-{module}", title=module, audience="", duration="", contents=(doc,)), site_url


def pdf_path(project: Project, module: str, language: str | None = None) -> Path:
    suffix = f"-{language}" if language and language != project.languages[0] else ""
    return output_path(project.build_dir / SLIDES_DIR, f"{module}{suffix}.pdf")


# ------------------------------------------------------------ the plan
def lines_of(text: str, chars: int = CHARS_PER_LINE) -> int:
    return max(1, math.ceil(len(text) / chars))


def split_items(items: list[str], title: str) -> list[list[str]]:
    """The items in groups that fit one slide each under a title."""
    room = LINES_PER_SLIDE - (lines_of(title, TITLE_CHARS) - 1)
    groups: list[list[str]] = [[]]
    used = 0.0
    for item in items:
        need = lines_of(item) + 0.25
        if groups[-1] and used + need > room:
            groups.append([])
            used = 0.0
        groups[-1].append(item)
        used += need
    return groups


def plan(outline: dict, strings: dict[str, str], diagrams: dict[str, object]) -> tuple[list[Slide], list[str]]:
    """The slides of a module from its pack outline; and the warnings."""
    warnings: list[str] = []
    modules_found = outline.get("sessions") or []
    if not modules_found:
        raise SlidesError("the module's landing page has no session table (## Sessions); no slides were made")
    module = modules_found[0]
    notes: dict[int, list[str]] = {}
    for chapter in outline.get("chapters", []):
        for note in chapter.get("facilitator_notes", []):
            notes.setdefault(int(note["session"]), []).extend(note["key_messages"])
    slides = [Slide("title", module["title"])]
    for session in module["sessions"]:
        number, title = session["number"], session["title"]
        messages = notes.get(number)
        if messages:
            items, label = messages, ""
        else:
            items, label = session.get("pages", []), strings["slides_pages"]
            warnings.append(
                f"{module['docname']}: session {number} ({title}) has no facilitator note with key messages; "
                "its slide shows the pages it uses"
            )
        for index, group in enumerate(split_items(items, title) or [[]]):
            slides.append(
                Slide(
                    "session",
                    title,
                    number=number,
                    minutes=session.get("full") or session.get("half"),
                    items=group,
                    items_label=label,
                    continued=index > 0,
                )
            )
    seen = set()
    for chapter in outline.get("chapters", []):
        for diagram in chapter.get("diagrams", []):
            key = diagram["key"]
            if key in seen or key not in diagrams:
                continue
            seen.add(key)
            for title, svg, extent, font, spots in diagrams[key]:
                slides.append(fit_diagram(Slide("diagram", title, svg=svg, extent=extent, font=font, links=spots)))
    return slides, warnings


def fit_diagram(slide: Slide, title_lines: int | None = None) -> Slide:
    """The diagram slide with its drawing as large as fits below a title of
    ``title_lines`` lines (estimated from its length when not given), in
    proportion, and the links over its boxes scaled with it."""
    lines = title_lines or lines_of(slide.title, DIAGRAM_TITLE_CHARS)
    width, height = slide.extent
    scale = min(DIAGRAM_WIDTH / width, (DIAGRAM_HEIGHT - lines * DIAGRAM_TITLE_LINE) / height)
    links = [{**link, "box": tuple(round(v * scale, 2) for v in link["area"])} for link in slide.links]
    size = (round(width * scale, 1), round(height * scale, 1))
    return dataclasses.replace(slide, title_lines=lines, size=size, links=links)


def draw_diagrams(project: Project, language: str, outline: dict, view=None) -> dict[str, list[tuple]]:
    """key → its slides' drawings of every diagram the module's pages use
    (the architecture in parts: :func:`citydiplo.site.diagrams.slide_diagrams`),
    each as (title, SVG, extent, smallest font, links over the boxes); the
    boxes link to the entities' IRIs.

    ``view`` is the graph view of the pack's Sphinx run (:func:`run_pack_sphinx`),
    so vocab/ is not read again; without it the graph is loaded."""
    keys = [d["key"] for chapter in outline.get("chapters", []) for d in chapter.get("diagrams", [])]
    if not keys:
        return {}
    from ..site.diagrams import FONT, DiagramError, render_svg, slide_diagrams

    if view is None or view.lang != language:
        from ..graph.load import load
        from ..graph.views import GraphView

        view = GraphView(load(project).graph, project, language)
    found: dict[str, list[tuple]] = {}
    serial = 0
    for key in dict.fromkeys(keys):
        kind, _, forum = key.partition("-")
        try:
            drawings = slide_diagrams(view, kind, forum or None)
        except DiagramError:
            continue  # the pack build has already reported it
        found[key] = []
        for diagram in drawings:
            serial += 1
            svg = render_svg(diagram, lambda slug: project.id_ns + slug, f"slide{serial}")
            # WeasyPrint draws no links inside an SVG: a link over each box makes it one in the PDF
            spots = [
                {"href": project.id_ns + box.slug, "label": box.label, "area": (box.x, box.y, box.w, box.h)}
                for box in diagram.boxes
            ]
            font = min(FONT, diagram.legend_font) if diagram.legend else FONT
            found[key].append((diagram.title, svg, (diagram.width, diagram.height), font, spots))
    return found


# ------------------------------------------------------------ HTML and PDF
def compose(project: Project, slides: list[Slide], language: str, workshop: str, date: str) -> str:
    import jinja2
    from markupsafe import Markup

    strings = print_strings(project, language)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project.root / PRINT_DIR)),
        autoescape=True,
        keep_trailing_newline=True,
    )
    sessions = [s for s in slides if s.kind == "session" and not s.continued]
    total = sum(s.minutes or 0 for s in sessions)
    return env.get_template("slides.html.j2").render(
        slides=[dataclasses.replace(s, svg=Markup(s.svg)) for s in slides],  # our own SVG, escaped when drawn
        s=strings,
        lang=language,
        project=project,
        workshop=workshop,
        date=date,
        summary=strings["slides_sessions"].format(count=len(sessions), minutes=total),
    )


def overflowing(pdf: Path, slides: list[Slide]) -> int | None:
    """The index of the first slide whose content ran onto a second page (from the PDF's bookmarks)."""
    from .pdfcheck import inspect_pdf

    facts = inspect_pdf(pdf, with_text=False)
    starts = [page for level, _title, page in facts.outline if level == 1]
    for index, _slide in enumerate(slides):
        end = starts[index + 1] if index + 1 < len(starts) else facts.pages
        start = starts[index] if index < len(starts) else facts.pages
        if end - start > 1:
            return index
    return None if facts.pages == len(slides) else len(slides) - 1


def split_slide(slides: list[Slide], index: int) -> list[Slide] | None:
    """The slides with the last item of slide ``index`` moved to the next
    slide of the same session (a "continued" slide, made if there is none),
    or None when the slide has a single item and cannot be split."""
    slide = slides[index]
    if slide.kind != "session" or len(slide.items) < 2:
        return None
    kept = dataclasses.replace(slide, items=slide.items[:-1])
    after = slides[index + 1] if index + 1 < len(slides) else None
    if after is not None and after.kind == "session" and after.continued and after.number == slide.number:
        moved = dataclasses.replace(after, items=[slide.items[-1], *after.items])
        return [*slides[:index], kept, moved, *slides[index + 2 :]]
    moved = dataclasses.replace(slide, items=slide.items[-1:], continued=True)
    return [*slides[:index], kept, moved, *slides[index + 1 :]]


def build_slides(
    project: Project,
    module: str,
    language: str | None = None,
    workshop: str = "",
    date: str = "",
    status=None,
) -> SlidesResult:
    """Build ``build/slides/<module>[-<language>].pdf``."""
    started = time.perf_counter()
    language = language or project.languages[0]
    if language not in project.languages:
        raise SlidesError(f"unknown language {language!r}: choose {', '.join(project.languages)}")
    pack, site_url = module_pack(project, module)
    pack = pack.in_language(language)
    docs = pack_documents(project.handbook_dir, pack.contents)
    check_components(project, docs)
    write_if_changed(project.handbook_dir / PACK_SOURCE_DIR / f"{pack.name}.md", root_page(pack))
    status = status if status is not None else io.StringIO()
    outdir, _body, outline, view = run_pack_sphinx(project, pack, docs, "trainer", language, site_url, status)
    diagrams = draw_diagrams(project, language, outline, view)
    slides, warnings = plan(outline, print_strings(project, language), diagrams)
    out = pdf_path(project, module, language)
    staging = out.with_name(out.stem + ".new.pdf")
    try:
        # The plan guesses how many key messages fit a slide; the rendered
        # PDF decides: a slide that runs over gives its last message to the
        # next slide of its session and the deck is rendered again, until
        # every slide fits (or one message alone does not).
        for _attempt in range(4 * len(slides) + 1):
            page = compose(project, slides, language, workshop, date)
            (outdir / "slides.html").write_text(page, encoding="utf-8")
            pages = render_pdf(page, outdir, project.root / PRINT_DIR / "slides.css", staging)
            bad = overflowing(staging, slides)
            if bad is None:
                break
            if slides[bad].kind == "diagram" and slides[bad].title_lines < 4:
                # its title took more lines than guessed: a smaller drawing
                slides[bad] = fit_diagram(slides[bad], slides[bad].title_lines + 1)
                continue
            split = split_slide(slides, bad)
            if split is None:
                raise SlidesError(
                    f"{project.rel(out)}: slide {bad + 1} ({slides[bad].title}) does not fit on one slide; "
                    "shorten its text (a key message, the session's or the module's title, the workshop's "
                    "name); the previous PDF was kept"
                )
            slides = split
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)
    return SlidesResult(module, out, slides, pages, warnings, time.perf_counter() - started)


def workshop_date(text: str, language: str) -> str:
    """``--date 2027-03-15`` → "15 March 2027" in the build language; other text as given."""
    import datetime as dt

    try:
        return format_date(dt.date.fromisoformat(text), language)
    except ValueError:
        return text


def _slides_one(task: tuple) -> SlidesResult | CoursePackError:
    project, module, language, workshop, date, verbose = task
    import sys

    try:
        return build_slides(project, module, language, workshop, date, status=sys.stdout if verbose else io.StringIO())
    except CoursePackError as exc:  # SlidesError too
        return exc


def build_many(
    project: Project,
    names: list[str],
    language: str | None = None,
    workshop: str = "",
    date: str = "",
    workers: int = 1,
    verbose: bool = False,
):
    """The slides of several modules, ``workers`` at a time in separate processes
    (the course packs' runner, :func:`citydiplo.print.coursepack.side_by_side`).
    Yields ``(module, SlidesResult or CoursePackError)`` in the order of
    ``names``; a failed deck does not stop the others."""
    tasks = [(project, name, language, workshop, date, verbose) for name in names]
    for task, outcome in side_by_side(_slides_one, tasks, 1 if verbose else workers):
        yield task[1], outcome
