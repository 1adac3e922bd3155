"""Diagrams drawn from the graph (citydiplo.site.diagrams, the forum-diagram
directive) and the slides of a module (citydiplo.print.slides), on the small
test projects: tests/roots/test-basic for the site, tests/roots/test-coursepack
(with facilitator notes and diagrams added) for the slides."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from citydiplo.cli import main
from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView
from citydiplo.print.coursepack import print_strings, render_pdf
from citydiplo.print.pdfcheck import inspect_pdf, text_sizes
from citydiplo.print.slides import Slide, SlidesError, build_slides, compose, overflowing, split_items, split_slide
from citydiplo.site.build import build_site
from citydiplo.site.diagrams import DiagramError, architecture, architecture_parts, diagram_for, render_svg, routes

from .conftest import edit
from .test_coursepack import make_coursepack_project

HOSTILE = '<script>alert("x")</script> & "Mayors" <b>'

DIAGRAMS = """
:::{forum-diagram} architecture
:::

:::{forum-diagram} routes gfmd
:::
"""

NOTE = """
:::{facilitator-note} 2
:minutes: 40

**Purpose.** Participants know what the forum is.

**Key messages.**

- KEY-ONE: the GFMD is a forum of states & meets <outside> the UN.
- KEY-TWO: cities take part through the Mayors Mechanism.
- KEY-THREE: three organisations co-lead the Mechanism.

**Say and show.** Show the diagram.

**Ask.** Who has been to a summit?

**Timing.** 40 min.

**Shorter or online.** Show the diagram only.
:::
"""


def view_of(project, language="en") -> GraphView:
    return GraphView(load(project).graph, project, language)


def links(svg: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', svg)


# ------------------------------------------------------------- diagrams
def test_diagrams_link_every_box_once_and_escape_labels(project):
    path = project.vocab_dir / "data" / "actors.ttl"
    edit(path, '"Mayors Mechanism"@en', f'"{HOSTILE.replace(chr(34), chr(92) + chr(34))}"@en')
    view = view_of(project)
    for diagram in (architecture(view), routes(view, "gfmd")):
        svg = render_svg(diagram, lambda slug: f"id/{slug}.html?a=1&b=2")
        slugs = [box.slug for box in diagram.boxes]
        assert len(slugs) == len(set(slugs))
        assert links(svg) == [f"id/{slug}.html?a=1&amp;b=2" for slug in slugs]  # one link per box, escaped
        assert "<script" not in svg and "<b>" not in svg
        assert "&lt;script&gt;alert(" in svg  # the label, shown as text
        assert "<title " in svg and "<desc " in svg
        assert render_svg(diagram, lambda slug: slug) == render_svg(
            routes(view_of(project), "gfmd") if diagram.key != "architecture" else architecture(view_of(project)),
            lambda slug: slug,
        )  # the same graph draws the same bytes
    arch = architecture(view)
    assert ("gfmd", "mayors-mechanism") in {(a, b) for a, b, _ in arch.edges}
    assert {box.slug for box in arch.boxes} == {"gfmd", "mayors-mechanism", "iom", "uclg", "mmc"}
    route = routes(view, "gfmd")
    assert [(b.slug, b.role) for b in route.boxes] == [
        ("gfmd", "forum"),
        ("route-constituency-mechanism", "route"),
        ("mayors-mechanism", "channel"),
    ]
    assert route.relations[1] == ("route-constituency-mechanism", "via", "mayors-mechanism")
    with pytest.raises(DiagramError, match="no forum 'nowhere' with access routes in the graph"):
        diagram_for(view, "routes", "nowhere")
    german = routes(view_of(project, "de"), "gfmd")
    assert german.title == "Zugangswege: Globales Forum für Migration und Entwicklung"


def test_architecture_in_parts_for_slides(project):
    """On slides the architecture comes in parts, a pair of tiers each, drawn
    from the same graph data: every line of the whole drawing in one part,
    each box linked, titles "(N of M)", narrow enough for 9-pt text."""
    view = view_of(project)
    whole = architecture(view)
    parts = architecture_parts(view)
    assert [part.title for part in parts] == [
        "The forums and the cities' channels (1\xa0of\xa02)",
        "Who leads the cities' channels (2\xa0of\xa02)",
    ]
    assert sorted(edge for part in parts for edge in part.edges) == sorted(whole.edges)
    assert sorted(r for part in parts for r in part.relations) == sorted(whole.relations)
    assert [[box.slug for box in part.boxes] for part in parts] == [
        ["gfmd", "mayors-mechanism"],
        ["mayors-mechanism", "iom", "mmc", "uclg"],
    ]
    for part in parts:
        svg = render_svg(part, lambda slug: slug, "p")
        assert links(svg) == [box.slug for box in part.boxes]
        assert part.width <= 960 and part.legend_font == 14  # 14 units on 226 mm: 9.3 pt or more
    german = architecture_parts(view_of(project, "de"))
    assert german[0].title == "Die Foren und die Kanäle der Städte (1\xa0von\xa02)"


def test_forum_diagram_directive_on_the_site(project, capsys):
    edit(project.handbook_dir / "index.md", "```{toctree}", DIAGRAMS + "\n```{toctree}")
    out = build_site(project, jobs=1, status=io.StringIO())
    html = (out / "index.html").read_text()
    svgs = re.findall(r"<svg [^>]*forum-diagram-svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2
    assert 'href="id/mayors-mechanism.html"' in svgs[0] and 'href="id/route-constituency-mechanism.html"' in svgs[1]
    assert html.count('class="forum-diagram-scroll"') == 2  # scrolls on a narrow screen
    ids = re.findall(r' id="(cd-diagram[^"]*)"', html)
    assert len(ids) == len(set(ids)) == 4  # a title and a description each, unique on the page
    listing = html[html.index("forum-diagram-list") :]
    assert "The diagram as a list" in html and 'href="id/uclg.html"' in listing  # the text alternative
    # an unknown forum fails the build at the directive's line
    edit(project.handbook_dir / "index.md", "routes gfmd", "routes nowhere")
    assert main(["--root", str(project.root), "build", "--no-dump", "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"index\.md:\d+: .*forum-diagram: no forum 'nowhere' with access routes", err)
    assert "Traceback" not in err


# ------------------------------------------------------------- slides
@pytest.fixture(scope="module")
def slides(tmp_path_factory):
    project = make_coursepack_project(tmp_path_factory.mktemp("slides") / "repo")
    edit(
        project.handbook_dir / "modules" / "demo" / "basics.md", "## Background\n", "## Background\n" + DIAGRAMS + NOTE
    )
    result = build_slides(project, "demo", workshop="Workshop <Bonn> & co", date="15 March 2027")
    return project, result, inspect_pdf(result.pdf)


def test_slides_are_16_9_with_one_slide_per_session(slides):
    project, result, facts = slides
    assert result.pdf == project.build_dir / "slides" / "demo.pdf"
    assert facts.page_size_mm == (254.0, 142.9)
    kinds = [slide.kind for slide in result.slides]
    assert kinds == ["title"] + ["session"] * 7 + ["diagram"] * 3  # sessions from the module's table
    assert facts.pages == len(result.slides)  # no slide ran onto a second page
    text = [re.sub(r"\s+", " ", page) for page in facts.text]
    assert "A demo module on the GFMD" in text[0] and "Workshop <Bonn> & co" in text[0]
    assert "15 March 2027" in text[0] and "7 sessions, 220 minutes" in text[0]
    # session 2 shows its number, minutes, title and the key messages of its facilitator note
    assert "Session 2 · 40 min" in text[2] and "What the forum is" in text[2]
    assert "KEY-ONE: the GFMD is a forum of states & meets <outside> the UN." in text[2]
    assert "KEY-THREE" in text[2] and all("KEY-" not in page for i, page in enumerate(text) if i != 2)
    # a session without a note shows the pages it uses, and the build says so
    assert "Session 3 · 45 min" in text[3] and "Pages for this session" in text[3] and "The basics" in text[3]
    assert any("session 3 (Three kinds of city) has no facilitator note" in w for w in result.warnings)
    assert not any("session 2 " in w for w in result.warnings)
    # the diagrams the module's pages use, drawn from the graph: the
    # architecture a pair of its tiers a slide, then the forum's routes
    assert "The forums and the cities' channels (1 of 2)" in text[8] and "Mayors Mechanism" in text[8]
    assert "Who leads the cities' channels (2 of 2)" in text[9] and "Constituency or mechanism" in text[10]
    assert f"{len(result.slides)} / {len(result.slides)}" in text[-1]  # page numbers
    # every box of a diagram is a link to its entity's IRI in the PDF too
    on_page = [sorted(uri.rsplit("/", 1)[1] for page, uri in facts.external_links if page == n) for n in (8, 9, 10)]
    assert on_page == [
        ["gfmd", "mayors-mechanism"],
        ["iom", "mayors-mechanism", "mmc", "uclg"],
        ["gfmd", "mayors-mechanism", "route-constituency-mechanism"],
    ]


def test_diagram_slides_print_their_text_at_9_pt_at_least(slides):
    """Projected, a diagram's text must be readable from the back of the
    room: every text on a diagram slide, measured in the PDF (its font size
    times the scale the drawing was shrunk by), is at least 9 pt; so is
    what the planner computed."""
    _project, result, _facts = slides
    sizes = text_sizes(result.pdf)
    diagram_pages = [n for n, slide in enumerate(result.slides) if slide.kind == "diagram"]
    assert len(diagram_pages) == 3
    for n in diagram_pages:
        slide = result.slides[n]
        assert len(sizes[n]) > len(slide.links)  # the boxes' labels, the legend, the title, the page number
        assert min(sizes[n]) >= 9.0, slide.title
        # the planner's figure is what the PDF shows (below the 14-pt page number)
        assert abs(min(sizes[n]) - min(slide.text_pt, 14.0)) < 0.05
    assert min(min(sizes[n]) for n in diagram_pages) < 14  # the measure sees a shrunk drawing's text


def test_slides_command_reads_vocab_once(slides, monkeypatch, capsys):
    """`citydiplo slides` validates vocab/ and hands the vocabulary on to the
    pack's Sphinx run, whose graph draws the diagrams: vocab/ is read once."""
    import citydiplo.graph.load
    import citydiplo.site.sphinxext

    project, result, _facts = slides
    citydiplo.graph.load.take_over(project)  # what the fixture's build handed on: start from nothing kept
    loads = []

    def counted(project):
        loads.append(project.root)
        return load(project)

    monkeypatch.setattr(citydiplo.graph.load, "load", counted)
    monkeypatch.setattr(citydiplo.site.sphinxext, "load", counted)
    assert main(["--root", str(project.root), "slides", "--all", "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert f"build/slides/demo.pdf ({len(result.slides)} slides, " in err and "Traceback" not in err
    assert len(loads) == 1
    facts = inspect_pdf(result.pdf)  # the diagrams are still drawn, with their links
    assert "Mayors Mechanism" in facts.text[8] and any(page == 8 for page, _uri in facts.external_links)


def test_slides_of_several_modules_side_by_side_report_each_failure(project):
    """`slides --all` shares the course packs' runner: separate processes, the
    outcomes in order, a failure returned (not raised) so the others go on."""
    from citydiplo.print.slides import build_many

    outcomes = list(build_many(project, ["nowhere-a", "nowhere-b"], workers=2))
    assert [name for name, _ in outcomes] == ["nowhere-a", "nowhere-b"]
    for name, outcome in outcomes:
        assert isinstance(outcome, SlidesError) and f"unknown module {name!r}" in str(outcome)


def test_slide_that_overflows_is_named(project, tmp_path):
    long = "A message that goes on and on. " * 40
    plan = [Slide("title", "Title"), Slide("session", "Too much", number=1, minutes=10, items=[long])]
    pdf = tmp_path / "x.pdf"
    page = compose(project, plan, "en", "", "")
    render_pdf(page, tmp_path, project.root / "conf" / "print" / "slides.css", pdf)
    assert overflowing(pdf, plan) == 1
    # a single message that does not fit cannot be split: the build names the slide
    assert split_slide(plan, 1) is None
    # the planner splits long lists of messages over slides, and a slide that
    # still runs over is split in two, its second half "continued"
    assert len(split_items(["x" * 110] * 5, "A title")) == 2
    two = [Slide("title", "T"), Slide("session", "S", number=1, items=["a", "b", "c"])]
    split = split_slide(two, 1)
    assert [s.items for s in split[1:]] == [["a", "b"], ["c"]] and [s.continued for s in split[1:]] == [False, True]
    again = split_slide(split, 1)  # the next slide of the session takes the message
    assert [s.items for s in again[1:]] == [["a"], ["b", "c"]]


def test_slides_command_mistakes(project, capsys):
    assert main(["--root", str(project.root), "slides", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert "unknown module 'nowhere'; the modules are:" in err and "Traceback" not in err
    assert main(["--root", str(project.root), "slides", "--all", "--language", "xx"]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err
    with pytest.raises(SlidesError, match="unknown module 'nowhere'"):
        build_slides(project, "nowhere")
    assert print_strings(project, "de")["slides_session"] == "Einheit {number}"
    assert not Path(project.build_dir / "slides").exists()


def test_slides_are_offered_as_downloads(real_project, tmp_path):
    import dataclasses

    from citydiplo.site.theme import download_files

    project = dataclasses.replace(real_project, build_dir=tmp_path)
    module = [(path, name) for path, name, _ in download_files(project, "modules/gfmd/index", "de")]
    assert (tmp_path / "slides" / "gfmd-de.pdf", "slides-gfmd-de.pdf") in module
    assert not any(name.startswith("slides-imrf") for _, name in module)
    trainers = [name for _, name, _ in download_files(project, "routes/trainers", "en")]
    assert {"slides-gfmd.pdf", "slides-imrf.pdf", "slides-grf.pdf", "slides-forum-access.pdf"} <= set(trainers)
