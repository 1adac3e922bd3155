"""The Sphinx extension on the small test handbook (tests/roots/test-basic)."""

from __future__ import annotations

import io
import re

import pytest

from citydiplo.cli import main
from citydiplo.site.build import BuildError, build_site

from .conftest import edit


def build(project, **kwargs):
    return build_site(project, jobs=1, status=io.StringIO(), **kwargs)


def pages_read(project) -> str:
    """Build again; the part of Sphinx's log that names the pages it read."""
    log = io.StringIO()
    build_site(project, jobs=1, status=log)
    return log.getvalue().split("reading sources", 1)[-1].split("writing output", 1)[0]


def test_roles_and_directives_render(project):
    out = build(project)
    html = (out / "index.html").read_text()
    # {entity} shows the label in the build language and links the entity page
    assert 'href="id/gfmd.html"' in html
    assert "Global Forum on Migration and Development" in html
    assert "mechanism for cities" in html  # explicit title kept
    # {query}: a table with the co-leads, linked, in ORDER BY order
    table = html[html.index("citydiplo-query") :]
    assert table.index("International Organization for Migration") < table.index("United Cities and Local Governments")
    assert 'href="id/mmc.html"' in table
    # exercise set apart; trainer note absent from the participant edition
    assert "Exercise: Draft a statement (20 min)" in html
    assert "SECRET-ANSWER-NOTE" not in html
    assert "FACILITATOR-PURPOSE" not in html and "Facilitator notes" not in html
    assert "Last reviewed: 22 November 2026; next review due: 22 May 2027." in html  # dates as a reader writes them
    assert (out / "id/mayors-mechanism.html").is_file()


def test_trainer_edition_shows_trainer_notes(project):
    out = build(project, edition="trainer")
    assert out.name == "html-trainer"
    html = (out / "index.html").read_text()
    assert "SECRET-ANSWER-NOTE" in html
    # the facilitator's script for session 1, its key messages marked for the slides
    assert "Facilitator notes: session 1 (20 min)" in html
    assert "FACILITATOR-PURPOSE" in html
    note = html[html.index("facilitator-note") :]
    assert note.index("key-messages") < note.index("The GFMD is a forum of states.")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("**Ask.** Who has spoken at a forum before?\n", "", "missing **Ask.**"),
        ("- A statement names one local result.\n", "", "2 key messages (a list of 3 to 5 after **Key messages.**)"),
        ("{facilitator-note} 1", "{facilitator-note} one", "the argument is the session's number, not 'one'"),
    ],
)
def test_facilitator_note_must_be_complete(project, capsys, old, new, message):
    edit(project.handbook_dir / "index.md", old, new)
    assert main(["--root", str(project.root), "build", "--no-dump", "-j", "1", "--edition", "trainer"]) == 1
    err = capsys.readouterr().err
    assert "index.md:" in err and message in err
    assert "Traceback" not in err


def test_german_build_shows_german_labels(project):
    out = build(project, language="de")
    html = (out / "index.html").read_text()
    assert "Globales Forum für Migration und Entwicklung" in html
    assert "Übung: Draft a statement (20 Min.)" in html
    table = html[html.index("citydiplo-query") :]
    assert re.findall(r"<th[^>]*><p>([^<]*)</p>", table[: table.index("</table>")]) == ["Org", "Seit"]


def test_every_query_column_has_a_german_heading():
    """Query tables sit on German pages too: every variable a query in vocab/queries/ selects has a
    German column heading in strings.toml [columns.de] (the name columns are link texts, not shown)."""
    from citydiplo.config import load_project
    from citydiplo.graph.query import load_queries
    from citydiplo.graph.views import strings
    from citydiplo.site.sphinxext import label_columns

    from .conftest import REPO

    german = strings()["columns"]["de"]
    missing = set()
    for query in load_queries(load_project(REPO)):
        select = re.search(r"SELECT\s+(?:DISTINCT\s+)?(.*?)\s+WHERE", query.text, re.S | re.I).group(1)
        names = re.findall(r"(?:AS\s+)?\?(\w+)\)?", select)
        names = [n for n in dict.fromkeys(names) if not re.search(rf"\?{n}\s*\)\s+AS", select)]
        missing |= {n for n in names if n not in label_columns(names) and n not in german}
    assert not missing, sorted(missing)


def test_unknown_entity_fails_the_build_with_its_location(project, capsys):
    edit(project.handbook_dir / "index.md", "{entity}`gfmd`", "{entity}`gfmd-typo`")
    assert main(["--root", str(project.root), "build", "--no-dump", "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert (
        "index.md:8: WARNING: unknown entity 'gfmd-typo': there is no cdi:gfmd-typo in vocab/ [citydiplo.link]" in err
    )
    assert "Traceback" not in err


def test_failed_build_keeps_previous_output(project):
    out = build(project)
    before = (out / "index.html").read_bytes()
    edit(project.handbook_dir / "index.md", "{entity}`gfmd`", "{entity}`gfmd-typo`")
    with pytest.raises(BuildError, match="left as it was"):
        build(project)
    assert (out / "index.html").read_bytes() == before
    assert not out.with_name(out.name + ".tmp").exists()


def test_invalid_vocab_stops_before_sphinx(project, capsys):
    edit(project.root / "vocab/data/actors.ttl", '"Global Forum on Migration and Development"@en ,', "")
    assert main(["--root", str(project.root), "build", "-j", "1"]) == 1
    captured = capsys.readouterr()
    assert "vocab/data/actors.ttl:" in captured.err and "cdi:gfmd" in captured.err
    assert "nothing was built" in captured.err
    assert not (project.build_dir / "html").exists()


def test_page_without_review_date_is_a_warning(project, capsys):
    (project.handbook_dir / "about").mkdir()
    (project.handbook_dir / "about/page.md").write_text("# No dates\n")
    edit(project.handbook_dir / "index.md", "reference/generated/*", "reference/generated/*\nabout/page")
    assert main(["--root", str(project.root), "build", "--no-dump", "-j", "1"]) == 1
    assert "page has no `last_reviewed` date in its front matter [citydiplo.content]" in capsys.readouterr().err


def test_incremental_build_rereads_pages_that_show_graph_data(project):
    build(project)
    edit(
        project.root / "vocab/data/actors.ttl",
        '"Global Forum on Migration and Development"@en',
        '"Global Forum on Migration & Development"@en',
    )
    out = build(project)
    assert "Global Forum on Migration &amp; Development" in (out / "index.html").read_text()


def test_query_command(project, capsys):
    assert main(["--root", str(project.root), "query", "co-leads-of-mayors-mechanism", "--format", "csv"]) == 0
    expected = (project.vocab_dir / "queries/co-leads-of-mayors-mechanism.csv").read_text()
    assert capsys.readouterr().out == expected
    assert main(["--root", str(project.root), "query", "SELEC nonsense"]) == 1
    assert main(["--root", str(project.root), "query", "SELECT * WHERE { ?s ?p }"]) == 1
    assert "SPARQL syntax error" in capsys.readouterr().err


def test_query_table_names_relations_and_drops_repeated_names(project):
    """A lone ``?label`` is the link text of the first column, not a column of its own; a relation
    or class in a cell shows its name (strings.toml, the ontology), never its IRI."""
    (project.root / "vocab/queries/memberships-of-iom.rq").write_text(
        "# title: What is IOM a member of?\n# description: A test query.\n"
        "PREFIX cdi: <https://w3id.org/citydiplo/id/>\nPREFIX org: <http://www.w3.org/ns/org#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?network ?label ?relation WHERE {\n"
        "  cdi:iom org:hasMembership/org:organization ?network . BIND(org:hasMembership AS ?relation)\n"
        '  ?network skos:prefLabel ?label . FILTER(lang(?label) = "en")\n}\n'
    )
    index = project.handbook_dir / "index.md"
    index.write_text(index.read_text() + "\n```{query} memberships-of-iom\n```\n")
    html = (build(project) / "index.html").read_text()
    table = html[html.index("What is IOM a member of?") :]
    table = table[: table.index("</table>")]
    heads = re.findall(r"<th[^>]*><p>([^<]*)</p>", table)
    assert heads == ["Network", "Relation"]
    assert 'href="id/mayors-mechanism.html"' in table and ">membership<" in table
    assert "www.w3.org/ns/org" not in table


def test_a_long_query_answer_shows_its_first_rows_and_says_so(project, monkeypatch):
    """A query table shows at most QUERY_ROWS rows, then how many there are and how to get them all."""
    from citydiplo.site import sphinxext

    (project.root / "vocab/queries/all-labels.rq").write_text(
        "# title: Every label\n# description: A test query.\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?thing ?label WHERE { ?thing skos:prefLabel ?label } ORDER BY ?thing ?label\n"
    )
    index = project.handbook_dir / "index.md"
    index.write_text(index.read_text() + "\n```{query} all-labels\n```\n")
    monkeypatch.setattr(sphinxext, "QUERY_ROWS", 3)
    html = (build(project) / "index.html").read_text()
    table = html[html.index("Every label") :]
    assert table[: table.index("</table>")].count("<tr") == 4  # the heading row and three rows
    note = re.search(r'<p class="citydiplo-query-cut">(.*?)</p>', table, re.S).group(1)
    total = int(re.search(r"of ([\d,]+) rows", note).group(1).replace(",", ""))
    assert note.startswith("Only the first 3 of ") and total > 3
    assert sphinxext.number(1094, "en") == "1,094" and sphinxext.number(1094, "de") == "1.094"


def test_label_edit_rereads_only_pages_that_link_that_entry(project):
    """A page that only links entries is read again when one of their labels
    changes, not on every change of vocab/."""
    (project.handbook_dir / "links.md").write_text(
        "---\norphan: true\n---\n\n# Links\n\nSee the {entity}`gfmd`.\n", encoding="utf-8"
    )
    build(project)
    actors = project.root / "vocab/data/actors.ttl"
    edit(actors, '"International Organization for Migration"@en', '"International Organization for Migration (IOM)"@en')
    read = pages_read(project)
    assert "index" in read and "links" not in read
    edit(actors, '"Global Forum on Migration and Development"@en', '"Global Forum on Migration (GFMD)"@en')
    out = build(project)
    assert "Global Forum on Migration (GFMD)" in (out / "links.html").read_text()


def test_a_diagram_page_is_read_again_only_when_its_drawing_changes(project):
    """A page with a diagram is read again when what the diagram draws changed
    (a label in it), not on every change of vocab/ (sphinxext.shown)."""
    (project.handbook_dir / "drawn.md").write_text(
        "---\norphan: true\n---\n\n# Drawn\n\n:::{forum-diagram} routes gfmd\n:::\n", encoding="utf-8"
    )
    first = (build(project) / "drawn.html").read_text()
    assert "Mayors Mechanism" in first and "International Organization for Migration" not in first
    actors = project.root / "vocab/data/actors.ttl"
    edit(actors, '"International Organization for Migration"@en', '"International Organization for Migration (IOM)"@en')
    read = pages_read(project)
    assert "index" in read and "drawn" not in read
    edit(actors, '"Mayors Mechanism"@en', '"Mayors Mechanism of the GFMD"@en')
    assert "drawn" in pages_read(project)
    assert "Mayors Mechanism of the GFMD" in (project.build_dir / "html" / "drawn.html").read_text()


def test_a_query_page_is_read_again_only_when_the_rows_it_shows_change(project):
    """A page with a query table is read again when the rows it shows (or the labels of
    the entries they link) changed, not on every change of vocab/."""
    (project.handbook_dir / "asked.md").write_text(
        "---\norphan: true\n---\n\n# Asked\n\n```{query} co-leads-of-mayors-mechanism\n```\n", encoding="utf-8"
    )
    build(project)
    actors = project.root / "vocab/data/actors.ttl"
    edit(actors, '"Global Forum on Migration and Development"@en', '"Global Forum on Migration (GFMD)"@en')
    assert "asked" not in pages_read(project)
    edit(actors, '"Mayors Migration Council"@en', '"Mayors Migration Council (MMC)"@en')
    assert "asked" in pages_read(project)
    assert "Mayors Migration Council (MMC)" in (project.build_dir / "html" / "asked.html").read_text()
