"""The built site in a real browser (Playwright driving Debian's Chromium).

Both editions are built once per session and served on loopback as they are
deployed (English at ``/``, German at ``/de/``; conf/citydiplo.toml). Checked:
search finds the expected page in its top 3 (Pagefind, English and German),
its filters narrow, Sphinx's search still works from ``file://`` in both
languages (German threw a TypeError), the language switcher lands on the same
page, no page type logs a console error, checklists tick and remember
(both languages), and at 390 px search is one tap away and no page type
scrolls sideways.
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


def page_size(base: str, path: str) -> int:
    from urllib.request import urlopen

    with urlopen(base + path) as response:  # the test's own server on loopback
        return len(response.read())


def pagefind_results(page, url: str) -> list[str]:
    page.goto(url)
    # the names come first, Pagefind's results after them: wait until the page says it is done
    page.wait_for_selector(".cd-search-status[data-done]", state="attached", timeout=15_000)
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
        # mistakes in the first two letters (found by the word's last two)
        ("", "Rfeetown", "freetown", "id/freetown.html"),
        ("", "Lgobal Cities Fund", "global cities fund", "id/global-cities-fund.html"),
        ("de", "Zsuage", "zusage", "how-to/make-a-pledge.html"),
        # Pagefind's own typo tolerance finds "May" for "Mayros": the name wins
        ("", "Mayros Mechanism", "mayors mechanism", "id/mayors-mechanism.html"),
    ],
)
def test_search_corrects_a_typing_mistake(page, served_sites, edition, query, better, expected):
    """A query that finds few pages, or none by name, is run again with its
    unknown words replaced by the nearest words of titles or names, and the
    page says so; no request goes to a name-table file that does not exist."""
    folder = f"{edition}/" if edition else ""
    missing = []
    page.on("response", lambda response: response.status >= 400 and missing.append(response.url))
    links = pagefind_results(page, f"{served_sites}{folder}search.html?q={quote(query)}")
    assert expected in [link.removeprefix(served_sites + folder) for link in links[:3]], links[:5]
    page.wait_for_function("document.querySelector('.cd-search-status').textContent.includes('“')")
    status = page.inner_text(".cd-search-status")
    assert query in status and better in status, status
    assert not missing and not page.errors, (missing, page.errors)


@pytest.mark.parametrize("query", ["visas", "Mayors Mechanism"])
def test_search_leaves_a_word_of_the_site_alone(page, served_sites, query):
    """A word that is in the pages but in no title or name is not "corrected"
    to a name that looks like it."""
    pagefind_results(page, f"{served_sites}search.html?q={quote(query)}")
    page.wait_for_function("/\\d/.test(document.querySelector('.cd-search-status').textContent)")
    assert "“" not in page.inner_text(".cd-search-status")


def test_search_snippets_come_from_the_index(page, served_sites):
    """A query fetches index fragments, never whole pages, and never Sphinx's searchindex.js."""
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    pagefind_results(page, f"{served_sites}search.html?q=pledge")
    assert page.locator(".cd-search-result-excerpt").first.inner_text().strip()
    pages = [url for url in fetched if url.endswith(".html") and "search.html" not in url]
    assert not pages, pages
    assert not [url for url in fetched if "searchindex.js" in url]
    # search runs on the page's thread (no worker script), and the index comes
    # in small chunks (site/search.py, INDEX_CHUNK_SIZE; Pagefind's default makes ≈ 25 KB)
    assert not [url for url in fetched if "pagefind-worker" in url]
    chunks = [url.removeprefix(served_sites) for url in fetched if url.endswith(".pf_index")]
    assert chunks and all(page_size(served_sites, chunk) < 16_000 for chunk in chunks), chunks


@pytest.mark.parametrize(
    ("edition", "query", "expected"),
    [("", "Mayors Mechanism", "id/mayors-mechanism.html"), ("de", "Globales Flüchtlingsforum", "id/grf.html")],
)
def test_an_entry_is_found_by_name_not_by_full_text(page, served_sites, edition, query, expected):
    """Entries (id/) and vocabulary terms (def/) are not in Pagefind's index,
    which would grow with the graph; the name table finds them by their names."""
    folder = f"{edition}/" if edition else ""
    page.goto(f"{served_sites}{folder}search.html")
    page.wait_for_function("document.documentElement.dataset.search === 'pagefind'")
    urls = page.evaluate(
        """async (query) => {
            const pagefind = await import(new URL("pagefind/pagefind.js", location.href).href);
            const found = await pagefind.search(query);
            const data = await Promise.all(found.results.map(r => r.data()));
            return {found: data.map(d => d.url)};
        }""",
        query,
    )
    assert urls["found"], f"Pagefind found no written page for {query!r}"
    generated = [url for url in urls["found"] if "/id/" in url or "/def/" in url]
    assert not generated, generated
    links = pagefind_results(page, f"{served_sites}{folder}search.html?q={quote(query)}")
    assert expected in [link.removeprefix(served_sites + folder) for link in links[:3]], links[:5]
    assert not page.errors, page.errors


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


# ----------------------------------------------------------------- checklists
#: the checklist UI in each edition (citydiplo.site.theme.UI["checklist"])
CHECKLIST_WORDS = {"": ("Who", "By when", "Clear my ticks"), "de/": ("Wer", "Bis wann", "Meine Häkchen löschen")}


@pytest.mark.parametrize("edition", ["", "de/"])
def test_checklist_ticks_and_entries_are_remembered(page, served_sites, edition):
    """A checklist's boxes are labelled by their item's text and can be ticked;
    ticks and the "who" and "by when" entries survive a reload (localStorage,
    keyed by the page's path); "clear my ticks" clears them, also after a reload."""
    from playwright.sync_api import expect

    who_word, when_word, clear_word = CHECKLIST_WORDS[edition]
    url = served_sites + edition + PAGE_TYPES["checklist"]
    page.goto(url)
    items = page.locator("li.task-list-item")
    assert items.count() > 20
    item = items.nth(1)
    box = item.locator("input.task-list-item-checkbox")
    text = " ".join(item.locator(":scope > p label").inner_text().split())
    assert len(text) > 20, text
    expect(box).to_be_enabled()
    expect(box).to_have_accessible_name(text)
    who = item.get_by_role("textbox", name=who_word, exact=True)
    when = item.get_by_label(when_word, exact=True)
    expect(when).to_have_attribute("type", "date")

    box.check()
    who.fill("Ana Costa (international office)")
    when.fill("2027-03-31")
    page.reload()
    item = page.locator("li.task-list-item").nth(1)
    expect(item.locator("input.task-list-item-checkbox")).to_be_checked()
    expect(item.get_by_role("textbox", name=who_word, exact=True)).to_have_value("Ana Costa (international office)")
    expect(item.get_by_label(when_word, exact=True)).to_have_value("2027-03-31")
    # the other items stay as they were
    expect(page.locator("li.task-list-item input.task-list-item-checkbox:checked")).to_have_count(1)
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('citydiplo-checklist:'))")
    assert stored == ["citydiplo-checklist:/" + edition + PAGE_TYPES["checklist"]], stored

    page.get_by_role("button", name=clear_word).click()
    expect(page.locator("li.task-list-item input.task-list-item-checkbox:checked")).to_have_count(0)
    expect(page.locator(".cd-checklist-status")).not_to_be_empty()
    page.reload()
    item = page.locator("li.task-list-item").nth(1)
    expect(item.locator("input.task-list-item-checkbox")).not_to_be_checked()
    expect(item.get_by_role("textbox", name=who_word, exact=True)).to_have_value("")
    expect(item.get_by_label(when_word, exact=True)).to_have_value("")
    assert page.evaluate("Object.keys(localStorage).length") == 0
    assert not page.errors, page.errors


# --------------------------------------------------------------------- phones
#: page types beyond PAGE_TYPES with wide content: a module page's routes table, dated lists, a query page
PHONE_EXTRA_PAGES = [
    "modules/gfmd/taking-part.html",
    "reference/generated/upcoming.html",
    "reference/generated/timeline.html",
    "reference/generated/queries.html",
]


def test_phone_search_in_one_tap_and_no_sideways_scrolling(browser, served_sites):
    """At 390 px: the search page is one tap away from the phone header (furo
    keeps its search box in the navigation drawer), and no page type is wider
    than the screen (wide tables scroll inside their own wrapper)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        pages = [*PAGE_TYPES.values(), *PHONE_EXTRA_PAGES, "de/" + PAGE_TYPES["module landing"]]
        widths = {}
        for path in pages:
            page.goto(served_sites + path)
            page.wait_for_load_state("networkidle")
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        assert all(width <= 390 for width in widths.values()), widths

        for edition, word in [("", "Search"), ("de/", "Suchen")]:
            page.goto(served_sites + edition + PAGE_TYPES["how-to"])
            link = page.locator(".mobile-header").get_by_role("link", name=word)
            assert link.is_visible()
            link.click()
            page.wait_for_url(re.compile(r"/search\.html"))
            # the search page focuses its box once its script has loaded
            page.wait_for_function("document.activeElement && document.activeElement.type === 'search'")
        assert not errors, errors
    finally:
        context.close()


def test_phone_back_to_top_keeps_clear_of_the_text(browser, served_sites):
    """At 390 px furo's "Back to top" pill (under the header, mid-screen) hid a line of text:
    on phones it is a round 44 px button in the bottom right-hand corner, still named."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(served_sites + PAGE_TYPES["module content"])
        page.evaluate("window.scrollTo(0, 3000)")
        page.wait_for_timeout(200)
        page.evaluate("window.scrollTo(0, 2600)")  # furo shows it when the reader scrolls back up
        button = page.locator(".back-to-top")
        button.wait_for(state="visible")
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
        assert box["x"] > 390 * 0.75 and box["y"] > 844 * 0.75, box  # the corner, not mid-screen
        assert box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844, box
        assert page.get_by_role("link", name="Back to top").is_visible()
    finally:
        context.close()
