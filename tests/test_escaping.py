"""Data is never code: hostile values in vocab/ and in query files are shown as
text on every generated page — no command runs, no script runs, no markup is
opened — and the one escaping boundary (citydiplo.escape) is tested alone."""

from __future__ import annotations

import html
import io
import re

import pytest

from citydiplo.escape import (
    EscapeError,
    Html,
    MyST,
    colon_fence,
    csv_cell,
    finalize,
    html_attr,
    html_finalize,
    html_inline,
    html_join,
    myst_code,
    myst_fence,
    myst_ident,
    myst_inline,
    myst_join,
    myst_to_html,
    myst_url,
    plain,
    print_text,
)
from citydiplo.site.build import build_site

from .conftest import browser_dom, require_tool

MARKER = "pwned-marker"

#: Payloads aimed at every evaluator and parser on the way: Jinja (MyST
#: substitutions and our templates), MyST roles/directives/fences/targets,
#: raw HTML, Markdown links and tables, the glossary's term syntax.
PAYLOADS = [
    "X {{ cycler.__init__.__globals__.os.system('touch " + MARKER + "-jinja') }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "<script>document.documentElement.setAttribute('data-pwned','script')</script>",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">",
    "[click](javascript:document.documentElement.setAttribute('data-pwned','link'))",
    "{eval-rst}`.. raw:: html`",
    "```{eval-rst}\n.. raw:: html\n\n   <script>document.documentElement.setAttribute('data-pwned','rst')</script>"
    "\n```",
    ":::{raw} html\n<script>document.documentElement.setAttribute('data-pwned','colon')</script>\n:::",
    "| a | b |\n|---|---|\n| c | d |",
    "(entity-gfmd)=\n# Heading",
    "term : classifier\n   definition",
    "{entity}`gfmd` and {doc}`index`",
]
#: An ontology term's example (Turtle: the payloads sit in comments so that it
#: still highlights; fences that start a line are covered by the unit tests).
HOSTILE_EXAMPLE = (
    "# ``` ::: <script>document.documentElement.setAttribute('data-pwned','example')</script>\n"
    "# {{ cycler.__init__.__globals__.os.system('touch pwned-marker-example') }}\n"
    "cdi:gfmd a cd:Forum ."
)


def turtle_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_hostile_vocab(project) -> None:
    vocab = project.root / "vocab"
    labels = " , ".join(turtle_string(p) + "@en" for p in PAYLOADS)
    de_labels = " , ".join(turtle_string(p) + "@de" for p in PAYLOADS)
    (vocab / "data" / "hostile.ttl").write_text(
        "@prefix cd: <https://w3id.org/citydiplo/def/> .\n"
        "@prefix cdi: <https://w3id.org/citydiplo/id/> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\n"
        "cdi:hostile a cd:CityNetwork ;\n"
        f"    skos:prefLabel {turtle_string(PAYLOADS[2])}@en , {turtle_string(PAYLOADS[0])}@de ;\n"
        f"    skos:altLabel {labels} , {de_labels} ;\n"
        f"    skos:definition {turtle_string(' '.join(PAYLOADS))}@en , {turtle_string(PAYLOADS[3])}@de ;\n"
        f"    skos:note {turtle_string(PAYLOADS[6])}@en , {turtle_string(PAYLOADS[7])}@de ;\n"
        f"    cd:openQuestion {turtle_string(PAYLOADS[4])}@en , {turtle_string(PAYLOADS[1])}@de ;\n"
        "    dcterms:source <https://example.org/a)(b*x_y> ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n',
        encoding="utf-8",
    )
    # the glossary: a hostile term name and definition
    (vocab / "concepts" / "hostile-glossary.ttl").write_text(
        "@prefix cd: <https://w3id.org/citydiplo/def/> .\n"
        "@prefix cdi: <https://w3id.org/citydiplo/id/> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\n"
        "cdi:glossary a skos:ConceptScheme ;\n"
        '    skos:prefLabel "Glossary"@en , "Glossar"@de ;\n'
        '    skos:definition "Terms."@en , "Begriffe."@de ;\n'
        "    dcterms:source cdi:source-policy-paper ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n\n'
        "cdi:term-hostile a skos:Concept ;\n"
        "    skos:inScheme cdi:glossary ;\n"
        f"    skos:prefLabel {turtle_string(PAYLOADS[0])}@en , {turtle_string(PAYLOADS[2])}@de ;\n"
        f"    skos:altLabel {turtle_string(PAYLOADS[10])}@en , {turtle_string(PAYLOADS[11])}@en ;\n"
        f"    skos:definition {turtle_string(PAYLOADS[3])}@en , {turtle_string(PAYLOADS[7])}@de ;\n"
        "    dcterms:source cdi:source-policy-paper ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n',
        encoding="utf-8",
    )
    # an ontology term's example that tries to close its code fence
    ontology = vocab / "ontology" / "citydiplo.ttl"
    text = ontology.read_text(encoding="utf-8")
    first = re.search(r'skos:example "[^"\n]*"', text)
    assert first is not None
    ontology.write_text(
        text[: first.start()] + f"skos:example {turtle_string(HOSTILE_EXAMPLE)}" + text[first.end() :],
        encoding="utf-8",
    )
    # a query whose title and description are hostile
    queries = vocab / "queries"
    (queries / "hostile.rq").write_text(
        f"# title: {PAYLOADS[0]} {PAYLOADS[2]}\n"
        f"# title-de: {PAYLOADS[3]}\n"
        f"# description: {PAYLOADS[4]} {PAYLOADS[1]} ``` ::: {{{{ 7*7 }}}}\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "# ```\n# :::\n# <script>document.documentElement.setAttribute('data-pwned','rq')</script>\n"
        'SELECT ?x WHERE { ?x skos:prefLabel "```" }\n',
        encoding="utf-8",
    )
    (queries / "hostile.csv").write_text("x\n", encoding="utf-8")


@pytest.fixture(scope="module", params=["myst", "collect"])
def hostile_sites(tmp_path_factory, request):
    """Both editions of the fixture project with the hostile vocabulary, with the
    entity and term pages made either way (MyST pages, or HTML through
    html-collect-pages: citydiplo.site.collect)."""
    from .conftest import make_project, set_entity_route

    root = tmp_path_factory.mktemp("hostile") / "repo"
    project = make_project(root)
    set_entity_route(project, request.param)
    write_hostile_vocab(project)
    index = project.handbook_dir / "index.md"
    index.write_text(index.read_text() + "\n```{query} hostile\n```\n", encoding="utf-8")
    english = build_site(project, jobs=1, status=io.StringIO())
    german = build_site(project, language="de", jobs=1, status=io.StringIO())
    return project, [english, german]


def html_pages(sites):
    for site in sites:
        yield from sorted(site.rglob("*.html"))


def test_no_command_runs_from_the_data(hostile_sites):
    project, _ = hostile_sites
    leftovers = [p for p in project.root.rglob(f"{MARKER}*")]
    assert leftovers == []


def test_payloads_show_as_text_and_open_no_markup(hostile_sites):
    _, sites = hostile_sites
    shown = 0
    for page in html_pages(sites):
        html = page.read_text(encoding="utf-8")
        for attrs, script in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
            if 'type="application/ld+json"' in attrs:  # data, not code: no markup can end it early
                assert "<" not in script and ">" not in script, f"{page}: raw markup in the JSON-LD block"
                continue
            assert "data-pwned" not in script, f"{page}: a <script> made from the data"
        assert not re.search(r"<img\b[^>]*\bonerror", html), f"{page}: an <img onerror> made from the data"
        assert 'href="javascript:' not in html.lower(), f"{page}: a javascript: link"
        assert "<b>x</b>" not in html, f"{page}: raw HTML from an eval-rst block"
        if "cycler.__init__" in html:
            shown += 1
    # the payloads are shown as text: entity page, glossary, queries, in both editions
    assert shown >= 4


def read_text(page) -> str:
    """A page's HTML with quotes normalised (Sphinx makes them typographic)."""
    html = page.read_text(encoding="utf-8")
    for quote in ("&#39;", "\u2018", "\u2019"):
        html = html.replace(quote, "'")
    return html


def test_hostile_pages_show_the_payload_verbatim(hostile_sites):
    _, (english, german) = hostile_sites
    entity = read_text(english / "id" / "hostile.html")
    assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','script')&lt;/script&gt;" in entity
    assert "{{ cycler.__init__.__globals__.os.system('touch pwned-marker-jinja') }}" in entity
    assert "{% for x in range(3) %}loop{% endfor %}" in entity
    glossary = read_text(english / "reference" / "generated" / "glossary.html")
    assert "{{ cycler.__init__" in glossary
    examples = "".join(read_text(p) for p in (english / "def").glob("*.html"))
    assert "{{ cycler.__init__.__globals__.os.system('touch pwned-marker-example') }}" in examples
    queries = read_text(english / "reference" / "generated" / "queries.html")
    assert "{{ 7*7 }}" in queries and ">49<" not in queries
    de_entity = read_text(german / "id" / "hostile.html")
    assert "{{ cycler.__init__" in de_entity


def test_no_script_runs_in_a_browser(hostile_sites):
    """Open every generated page of both editions in headless Chromium and read
    the DOM after scripts ran: no payload set its marker."""
    require_tool("chromium", "opens the hostile pages as a reader's browser would")
    _, sites = hostile_sites
    pages = []
    for site in sites:
        pages += [site / "id" / "hostile.html", site / "reference" / "generated" / "glossary.html"]
        pages += [site / "reference" / "generated" / "queries.html", site / "index.html"]
        pages += [p for p in (site / "def").glob("*.html") if "pwned-marker-example" in p.read_text(encoding="utf-8")]
    assert all(p.is_file() for p in pages) and len(pages) >= 10
    for page in pages:
        dom = browser_dom(page.as_uri(), "opens the hostile pages as a reader's browser would", budget_ms=500)
        assert "<html" in dom
        assert not re.search(r"<html[^>]*data-pwned", dom), f"{page}: a script from the data ran"


# ---------------------------------------------------------------- the boundary alone
@pytest.mark.parametrize("payload", PAYLOADS)
def test_inline_escape_leaves_no_live_punctuation(payload):
    out = myst_inline(payload)
    assert isinstance(out, MyST)
    assert "\n" not in out
    # every ASCII punctuation character is escaped
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", out)
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped)
    # and un-escaping gives the text back (line breaks as spaces)
    assert re.sub(r"\\(.)", r"\1", out) == re.sub(r"\n+", " ", payload).strip()


def test_join_escapes_items_but_keeps_myst():
    link = MyST("[a](b.md)")
    assert myst_join([link, "<x>"]) == "[a](b.md)\\, \\<x\\>"


def test_code_span_and_fence_cannot_be_closed_from_inside():
    assert myst_code("a`b") == "``a`b``"
    assert myst_code("`") == "`` ` ``"
    fence = myst_fence("```\n````\nx", "turtle")
    assert fence.startswith("`````turtle\n") and fence.endswith("\n`````")
    with pytest.raises(EscapeError):
        myst_fence("x", "python}\n```{eval-rst}")
    assert colon_fence("a\n::::\n  :::::: b") == ":::::::"


def test_identifiers_are_checked_not_escaped():
    assert myst_ident("gfmd-summit-2020") == "gfmd-summit-2020"
    for bad in ("../../CONTRIBUTING", "a b", "x)=", "", "a/b", "a\nb"):
        with pytest.raises(EscapeError):
            myst_ident(bad)


def test_urls():
    assert myst_url("https://example.org/a b)(c") == "<https://example.org/a%20b%29%28c>"
    assert myst_url("https://example.org/<x>") == "<https://example.org/%3Cx%3E>"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "file:///etc/passwd"):
        with pytest.raises(EscapeError):
            myst_url(bad)


def test_html_and_csv():
    assert html_attr('"><script>') == "&quot;&gt;&lt;script&gt;"
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("-12") == "-12"
    assert csv_cell("@SUM") == "'@SUM"
    assert csv_cell("Berlin") == "Berlin"


def test_templates_escape_what_they_forget():
    assert finalize("{{ x }}") == "\\{\\{ x \\}\\}"
    assert finalize(MyST("[a](b)")) == "[a](b)"
    assert finalize(3) == "3"
    assert finalize(None) == ""


@pytest.mark.parametrize("payload", [*PAYLOADS, "\\input{/etc/passwd} \\write18{rm -rf /}", "a\nb\x00c"])
def test_print_text_for_the_course_packs(payload):
    """Values from the command line (a workshop's name, participants' names)
    reach the course pack's autoescaping Jinja template through print_text:
    escaped once, on one line, never evaluated."""
    import jinja2

    value = print_text(payload)
    assert "<" not in value and ">" not in value and '"' not in value
    assert "\n" not in value and "\x00" not in value
    env = jinja2.Environment(autoescape=True)
    page = env.from_string('<p title="{{ v }}">{{ v }}</p>').render(v=value)
    assert page == f'<p title="{value}">{value}</p>'  # not escaped twice
    assert html.unescape(str(value)) == plain(payload)  # the text itself, control characters made spaces
    if "{{" in payload or "{%" in payload:
        assert "{{" in page or "{%" in page  # printed, not evaluated


# ------------------------------------------------ the HTML boundary (collect route)
@pytest.mark.parametrize("payload", [*PAYLOADS, HOSTILE_EXAMPLE, "a\nb\x00c"])
def test_html_inline_shows_text_and_opens_no_markup(payload):
    """A value on an entity page of the collect route: escaped text, or MyST
    made by escape.py converted, never markup of its own."""
    for value in (payload, myst_inline(payload), myst_join([payload, payload])):
        out = html_inline(value)
        assert isinstance(out, Html)
        assert "<" not in out and ">" not in out
        assert html.unescape(out).startswith(plain(payload))


def test_myst_to_html_converts_only_the_projects_own_markup():
    link = MyST(f"[{myst_inline('<b>Athens</b> & co')}](../id/athens.md)")
    external = MyST(f"[{myst_inline('x')}]({myst_url('https://example.org/a b?<q>')})")
    out = myst_to_html(myst_join([link, external, myst_code("a`b <i>")], "; "))
    assert out == (
        '<a class="reference internal" href="../id/athens.html"><span class="std std-doc">'
        "&lt;b&gt;Athens&lt;/b&gt; &amp; co</span></a>; "
        '<a class="reference external" href="https://example.org/a%20b?%3Cq%3E">x</a>; '
        '<code class="docutils literal notranslate"><span class="pre">a`b &lt;i&gt;</span></code>'
    )
    # links that the project never writes are refused, not passed on
    for bad in (
        "[x](javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](//evil.example/a.md)",
        "[x](https://evil.example/a.md)",
        "[x](../id/a b.md)",
        "[x](../id/a.md",
        "[x [y](a.md)](b.md)",
        "`open",
    ):
        with pytest.raises(EscapeError):
            myst_to_html(MyST(bad))


def test_html_templates_escape_what_they_forget():
    assert html_finalize("<script>") == "&lt;script&gt;"
    assert html_finalize(MyST("\\<b\\>")) == "&lt;b&gt;"  # the MyST for the text "<b>"
    assert html_finalize(Html("<b>ok</b>")) == "<b>ok</b>"
    assert html_finalize(3) == "3" and html_finalize(None) == ""
    assert html_join(["<a>", Html("<b>x</b>")], " & ") == "&lt;a&gt; &amp; <b>x</b>"
    with pytest.raises(EscapeError):
        html_finalize(True)
