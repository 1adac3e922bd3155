"""The built site in a real browser (Playwright driving Debian's Chromium).

Both editions are built once per session and served on loopback as they are
deployed (English at ``/``, German at ``/de/``; conf/citydiplo.toml). Checked:
search finds the expected page in its top 3 (Pagefind, English and German),
its filters narrow, Sphinx's search still works from ``file://`` in both
languages (German threw a TypeError), the language switcher lands on the same
page, and no page type logs a console error.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.slow

#: (edition folder, query, the page that must be among the first three results)
QUERIES = [
    ("", "Mayors Mechanism", "id/mayors-mechanism.html"),
    ("", "pledge", "how-to/make-a-pledge.html"),
    ("", "IMRF", "id/imrf.html"),
    ("", "side event", "how-to/organise-a-side-event.html"),
    ("", "Global Cities Fund", "id/global-cities-fund.html"),
    ("", "national delegation", "how-to/get-a-seat-in-a-national-delegation.html"),
    ("", "Global Refugee Forum", "id/grf.html"),
    ("", "Marrakech Mayors Declaration", "id/marrakech-mayors-declaration.html"),
    ("", "report progress", "how-to/report-progress-on-a-pledge.html"),
    ("de", "Zusage", "how-to/make-a-pledge.html"),
    ("de", "Begleitveranstaltung", "how-to/organise-a-side-event.html"),
    ("de", "nationale Delegation", "how-to/get-a-seat-in-a-national-delegation.html"),
    ("de", "Globales Flüchtlingsforum", "id/grf.html"),
    ("de", "Mayors Mechanism", "id/mayors-mechanism.html"),
    ("de", "Fortschritte berichten", "how-to/report-progress-on-a-pledge.html"),
]

#: one page of every page type
PAGE_TYPES = {
    "home": "index.html",
    "route": "routes/trainers.html",
    "module landing": "modules/gfmd/index.html",
    "module content": "modules/gfmd/mayors-mechanism.html",
    "checklist": "modules/gfmd/checklist.html",
    "exercises": "modules/gfmd/exercises.html",
    "how-to": "how-to/make-a-pledge.html",
    "explanation": "explanation/city-networks.html",
    "directory": "reference/generated/cities.html",
    "entity": "id/mayors-mechanism.html",
    "vocabulary term": "def/Forum.html",
    "data": "data/queries.html",
    "search": "search.html?q=pledge",
}


def pagefind_results(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_selector(".cd-search-result-link", timeout=15_000)
    return page.eval_on_selector_all(".cd-search-result-link", "links => links.map(a => a.href)")


@pytest.mark.parametrize(("edition", "query", "expected"), QUERIES, ids=[f"{e or 'en'}-{q}" for e, q, _ in QUERIES])
def test_search_finds_the_page_in_the_top_three(page, served_sites, edition, query, expected):
    folder = f"{edition}/" if edition else ""
    links = pagefind_results(page, f"{served_sites}{folder}search.html?q={quote(query)}")
    top = [link.removeprefix(served_sites + folder) for link in links[:3]]
    assert expected in top, f"{query!r}: {expected} not in the top 3: {top}"
    assert page.evaluate("document.documentElement.dataset.search") == "pagefind"
    assert not page.errors, page.errors


@pytest.mark.parametrize(
    ("edition", "query", "better", "expected"),
    [
        ("", "Freetwon", "freetown", "id/freetown.html"),
        ("de", "Begleitveranstalltung", "begleitveranstaltung", "how-to/organise-a-side-event.html"),
    ],
)
def test_search_corrects_a_typing_mistake(page, served_sites, edition, query, better, expected):
    """A query that finds nothing is run again with its unknown word replaced by
    the nearest word of a title or name, and the page says so."""
    folder = f"{edition}/" if edition else ""
    links = pagefind_results(page, f"{served_sites}{folder}search.html?q={quote(query)}")
    assert expected in [link.removeprefix(served_sites + folder) for link in links[:3]], links[:5]
    page.wait_for_function("document.querySelector('.cd-search-status').textContent.includes('“')")
    status = page.inner_text(".cd-search-status")
    assert query in status and better in status, status
    assert not page.errors, page.errors


def test_search_snippets_come_from_the_index(page, served_sites):
    """A query fetches index fragments, never whole pages, and never Sphinx's searchindex.js."""
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    pagefind_results(page, f"{served_sites}search.html?q=pledge")
    assert page.locator(".cd-search-result-excerpt").first.inner_text().strip()
    pages = [url for url in fetched if url.endswith(".html") and "search.html" not in url]
    assert not pages, pages
    assert not [url for url in fetched if "searchindex.js" in url]


def test_search_filters_narrow_on_the_page(page, served_sites):
    """Choosing a kind of page in the filter leaves only pages of that kind."""
    pagefind_results(page, f"{served_sites}search.html?q=pledge")
    page.click(".cd-search-filter-toggle summary")
    page.select_option("#cd-filter-kind", "How-to guide")
    page.wait_for_function("document.querySelectorAll('.cd-search-result-kind').length > 0")
    page.wait_for_timeout(500)
    kinds = page.eval_on_selector_all(".cd-search-result-kind", "ps => ps.map(p => p.textContent)")
    assert kinds and set(kinds) == {"How-to guide"}, kinds
    assert "kind=How-to+guide" in page.url
    assert not page.errors, page.errors


def test_search_filters_narrow(page, served_sites):
    page.goto(f"{served_sites}search.html")
    page.wait_for_function("document.documentElement.dataset.search === 'pagefind'")
    counts = page.evaluate(
        """async () => {
            const pagefind = await import(new URL("pagefind/pagefind.js", location.href).href);
            const all = await pagefind.search("pledge");
            const howto = await pagefind.search("pledge", {filters: {kind: "How-to guide"}});
            const urls = await Promise.all(howto.results.map(r => r.data().then(d => d.url)));
            const filters = await pagefind.filters();
            return {all: all.results.length, howto: howto.results.length, urls, filters};
        }"""
    )
    assert 0 < counts["howto"] < counts["all"]
    assert all("/how-to/" in url for url in counts["urls"]), counts["urls"]
    for facet in ("kind", "module", "forum", "language"):
        assert counts["filters"].get(facet), f"no {facet!r} filter in the index: {sorted(counts['filters'])}"


@pytest.mark.parametrize(("site", "query"), [("english_site", "pledge"), ("german_site", "Zusage")])
def test_sphinx_search_works_from_file(page, request, site, query):
    """From file:// Pagefind cannot load; Sphinx's search runs, in German too."""
    root = request.getfixturevalue(site)
    page.goto((root / "search.html").as_uri() + f"?q={quote(query)}")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    page.wait_for_function("document.querySelector('#search-results p.search-summary').textContent.trim() !== ''")
    assert page.evaluate("document.documentElement.dataset.search") == "sphinx"
    status = page.inner_text("#search-results p.search-summary")
    assert re.search(r"\d", status), f"the summary gives no count: {status!r}"
    assert not page.errors, page.errors


@pytest.mark.parametrize("path", ["modules/gfmd/index.html", "id/mayors-mechanism.html", "index.html"])
def test_language_switcher_lands_on_the_same_page(page, served_sites, path):
    """The switcher links to the published address of the same page in the
    other edition; served here as published (German under de/), it lands there."""
    published = "https://w3id.org/citydiplo/"

    def follow(lang: str) -> None:
        href = page.get_attribute(f".cd-languages a[hreflang={lang}]", "href")
        assert href.startswith(published), href
        page.goto(served_sites + href.removeprefix(published))

    page.goto(served_sites + path)
    follow("de")
    assert page.url == f"{served_sites}de/{path}"
    assert page.evaluate("document.documentElement.lang") == "de"
    follow("en")
    assert page.url == served_sites + path
    assert page.evaluate("document.documentElement.lang") == "en"
    assert not page.errors, page.errors


@pytest.mark.parametrize("kind", sorted(PAGE_TYPES))
@pytest.mark.parametrize("edition", ["", "de/"])
def test_no_console_errors(page, served_sites, kind, edition):
    page.goto(served_sites + edition + PAGE_TYPES[kind])
    page.wait_for_load_state("networkidle")
    assert page.title()
    assert page.locator(".cd-feedback a").count() == 1 or kind == "search"
    assert not page.errors, page.errors
