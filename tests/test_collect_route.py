"""The collect route (citydiplo.site.collect) against the MyST route it replaces.

While both routes exist (``citydiplo_entity_route`` in conf/conf.py), every
entity and term page must read the same either way, in both languages, with
the same layout around it: navigation, title, breadcrumbs, search filters and
names. The fixture project is built four times (two routes × two languages,
a few seconds each); :func:`test_real_site_reads_the_same_on_both_routes`
compares every page of the real handbook (slow: one more real build).
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest

from citydiplo.site.build import BuildError, build_site
from citydiplo.site.collect import MANIFEST

from .conftest import entity_route, make_project, set_entity_route

TAG = re.compile(r"<[^>]+>")


def text_of(fragment: str) -> str:
    fragment = re.sub(r"<script\b.*?</script>", " ", fragment, flags=re.S)
    return " ".join(html.unescape(TAG.sub(" ", fragment)).replace("\u00b6", "").split())


def part(page: str, pattern: str) -> str:
    match = re.search(pattern, page, re.S)
    assert match, pattern
    return match.group(1)


def reading(path: Path) -> dict:
    """What a reader and the search see of a page, as text."""
    page = path.read_text(encoding="utf-8")
    return {
        "title": text_of(part(page, r"<title>(.*?)</title>")),
        "article": text_of(part(page, r'<article[^>]*role="main"[^>]*>(.*?)</article>')),
        "navigation": part(page, r'(<div class="sidebar-tree">.*?</div>)'),
        "breadcrumbs": text_of(part(page, r'(<nav class="cd-breadcrumbs".*?</nav>)')),
        "search": sorted(re.findall(r'data-pagefind-(?:filter|meta)="([^"]*)"', page)),
        "toc": text_of(part(page, r'<div class="toc-tree">(.*?)</div>')) if "toc-tree" in page else "",
        "head": sorted(re.findall(r'<link rel="alternate"[^>]*>|<script type="application/ld\+json">', page)),
    }


def compare_sites(old: Path, new: Path) -> int:
    """Assert every entity and term page reads the same; return how many there are."""
    count = 0
    for folder in ("id", "def"):
        old_pages = sorted(p.name for p in (old / folder).glob("*.html"))
        new_pages = sorted(p.name for p in (new / folder).glob("*.html"))
        assert old_pages == new_pages
        for name in old_pages:
            before, after = reading(old / folder / name), reading(new / folder / name)
            for key in before:
                assert before[key] == after[key], f"{folder}/{name}: {key} differs"
            count += 1
    return count


@pytest.fixture(scope="module")
def both_routes(tmp_path_factory):
    sites = {}
    for route in ("myst", "collect"):
        project = make_project(tmp_path_factory.mktemp(route) / "repo")
        set_entity_route(project, route)
        for language in ("en", "de"):
            sites[route, language] = build_site(project, language=language, jobs=1, status=io.StringIO())
    return sites


@pytest.mark.parametrize("language", ["en", "de"])
def test_entity_and_term_pages_read_the_same_on_both_routes(both_routes, language):
    old, new = both_routes["myst", language], both_routes["collect", language]
    assert compare_sites(old, new) >= 50
    # the collect route writes no MyST page for them, and reads none
    assert not list((new.parents[1] / "handbook" / "id").glob("*.md"))
    assert (new / MANIFEST).is_file()


@pytest.mark.parametrize("language", ["en", "de"])
def test_search_names_and_sitemap_are_the_same_on_both_routes(both_routes, language):
    old, new = both_routes["myst", language], both_routes["collect", language]
    shards = sorted(p.name for p in (old / "searchnames").glob("*.json"))
    assert shards == sorted(p.name for p in (new / "searchnames").glob("*.json"))
    for name in shards:
        assert json.loads((old / "searchnames" / name).read_text()) == json.loads(
            (new / "searchnames" / name).read_text()
        ), name
    entity_pages = [
        page[0]
        for name in shards
        for page in json.loads((new / "searchnames" / name).read_text())["pages"]
        if page[0].startswith("id/")
    ]
    assert entity_pages
    if (old / "sitemap.xml").is_file():
        assert (old / "sitemap.xml").read_text() == (new / "sitemap.xml").read_text()


def test_prose_links_to_entity_pages_resolve_on_the_collect_route(both_routes):
    new = both_routes["collect", "en"]
    links = set()
    for page in new.rglob("*.html"):
        if page.parts[-2] in ("id", "def"):
            continue
        for href in re.findall(r'href="([^"#]*(?:id|def)/[^"#]*\.html)', page.read_text(encoding="utf-8")):
            target = (page.parent / href).resolve()
            assert target.is_file(), f"{page}: {href}"
            links.add(href)
    assert links


def test_unknown_entity_in_prose_fails_the_build(project):
    set_entity_route(project, "collect")
    index = project.handbook_dir / "index.md"
    index.write_text(index.read_text() + "\nSee {entity}`no-such-entity`.\n", encoding="utf-8")
    errors = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(errors), pytest.raises(BuildError):
        build_site(project, jobs=1, status=io.StringIO())
    assert "unknown entity 'no-such-entity'" in errors.getvalue()


def test_unchanged_pages_are_not_written_again(project, monkeypatch):
    """A rebuild writes no entity page, and renders none when nothing they are made of changed;
    after one label changes, the pages that show it are written again and show the new label,
    the others are not."""
    from citydiplo import files
    from citydiplo.graph.load import Vocab
    from citydiplo.site import collect

    set_entity_route(project, "collect")
    site = build_site(project, jobs=1, status=io.StringIO())
    pages = sorted((site / "id").glob("*.html")) + sorted((site / "def").glob("*.html"))
    stamps = {p: p.stat().st_mtime_ns for p in pages}
    made_of_graph = ["sitemap.xml", "calendar.ics", *(p.relative_to(site) for p in site.glob("searchnames/**/*.json"))]
    before = {rel: (site / rel).read_bytes() for rel in made_of_graph}
    rendered, graphs = [], []
    render = collect.render_pages
    monkeypatch.setattr(collect, "render_pages", lambda *a, **k: rendered.append(1) or render(*a, **k))
    materialise = Vocab._materialise
    spy = lambda self, shapes: (  # noqa: E731
        graphs.append(shapes) if any(entry[0] == shapes for entry in self._pending) else 0,
        materialise(self, shapes=shapes),
    )
    monkeypatch.setattr(Vocab, "_materialise", spy)
    log = io.StringIO()
    build_site(project, jobs=1, status=log)
    assert f"0 entity and term page(s) written, {len(pages)} unchanged" in log.getvalue()
    assert {p: p.stat().st_mtime_ns for p in pages} == stamps
    assert rendered == []  # vocab/, layout, code and settings unchanged: nothing to render
    assert graphs == []  # ... and no rdflib graph made: the files were parsed (checked), not loaded
    assert {rel: (site / rel).read_bytes() for rel in made_of_graph} == before  # the name table, map, calendar kept
    # other code (a template, a UI string) renders every page again, and writes only what differs
    monkeypatch.setattr(files, "code_digest", lambda: "other code")
    log = io.StringIO()
    build_site(project, jobs=1, status=log)
    assert rendered == [1] and f"0 entity and term page(s) written, {len(pages)} unchanged" in log.getvalue()

    data = project.root / "vocab" / "data"
    path = next(p for p in sorted(data.rglob("*.ttl")) if '"Mayors Mechanism"@en' in p.read_text())
    path.write_text(path.read_text().replace('"Mayors Mechanism"@en', '"Mayors Mechanism Renamed"@en'))
    log = io.StringIO()
    build_site(project, jobs=1, status=log)
    written = int(re.search(r"(\d+) entity and term page\(s\) written", log.getvalue()).group(1))
    changed = [p for p in pages if p.stat().st_mtime_ns != stamps[p]]
    assert 0 < written == len(changed) < len(pages)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert ">Mayors Mechanism<" not in text, page
        if "Mayors Mechanism Renamed" in text:
            assert page in changed


def test_an_edit_renders_only_the_pages_that_may_show_it_and_the_site_equals_a_fresh_build(project, tmp_path):
    """After an edit of vocab/ only the entity pages that may show what changed are rendered
    (collect.pages_to_render: the changed block, what it mentions, the blocks that mention it
    and what those mention); every entity and term page is then byte for byte what a build
    from nothing writes. Edits: a label shown two links away (a role in a membership), a
    link removed, a label, a new entry, a term's label (which renders every page)."""
    import dataclasses

    set_entity_route(project, "collect")
    site = build_site(project, jobs=1, status=io.StringIO())
    data = project.root / "vocab"
    actors, schemes = data / "data" / "actors.ttl", data / "concepts" / "schemes.ttl"
    entry = (
        "\ncdi:new-network a cd:CityNetwork ;\n"
        '    skos:prefLabel "New Network"@en , "Neues Netzwerk"@de ;\n'
        '    skos:definition "A network added by the test."@en , "Ein Netzwerk aus dem Test."@de ;\n'
        "    cd:initiatedBy cdi:mmc ;\n    dcterms:source cdi:source-policy-paper ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n'
    )
    label = '"City network or city-led body"@en'
    ontology = next(p for p in sorted((data / "ontology").glob("*.ttl")) if label in p.read_text())
    edits = [
        (schemes, '"co-lead"@en', '"joint lead"@en', True),
        (actors, "cd:initiatedBy cdi:iom , cdi:uclg , cdi:mmc ;", "cd:initiatedBy cdi:iom , cdi:uclg ;", True),
        (actors, '"Mayors Migration Council"@en', '"Mayors Migration Council (MMC)"@en', True),
        (actors, None, entry, True),
        (ontology, label, '"Network of cities"@en', False),
    ]
    for number, (path, old, new, selective) in enumerate(edits):
        text = path.read_text(encoding="utf-8")
        assert old is None or old in text
        path.write_text(text + new if old is None else text.replace(old, new), encoding="utf-8")
        log = io.StringIO()
        build_site(project, jobs=1, status=log)
        assert ("not rendered: nothing they show changed" in log.getvalue()) == selective, (number, log.getvalue())
        fresh = build_site(
            dataclasses.replace(project, build_dir=tmp_path / f"fresh-{number}"), jobs=1, status=io.StringIO()
        )
        pages = sorted(p.relative_to(fresh) for p in [*fresh.glob("id/*.html"), *fresh.glob("def/*.html")])
        assert pages == sorted(p.relative_to(site) for p in [*site.glob("id/*.html"), *site.glob("def/*.html")])
        for rel in pages:
            assert (site / rel).read_bytes() == (fresh / rel).read_bytes(), (number, rel)
    assert "joint lead" in (site / "id" / "mayors-mechanism.html").read_text(encoding="utf-8")
    assert "New Network" in (site / "id" / "mmc.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_real_site_reads_the_same_on_both_routes(real_build, english_site, tmp_path):
    """Every entity and term page of the real handbook, English edition: the
    site built by the session (on the route conf/conf.py chooses) against one
    built on the other route."""
    import dataclasses
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(
        real_build.root,
        root,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "id", "def", "generated"),
    )
    from citydiplo.config import load_project

    project = dataclasses.replace(load_project(root), build_dir=tmp_path / "build")
    set_entity_route(project, "myst" if entity_route(project) == "collect" else "collect")
    other = build_site(project, status=io.StringIO())
    assert compare_sites(english_site, other) >= 500


def test_pages_to_render_follows_links_two_steps_and_refuses_a_broken_manifest():
    from citydiplo.site.collect import pages_to_render

    old = {
        "id/a": ["1", ["id/m"]],  # a's block: a membership naming m and the role r
        "id/m": ["2", []],
        "id/r": ["3", []],
        "id/x": ["4", ["id/y"]],
        "id/y": ["5", []],
        "id/z": ["6", []],
    }
    old["id/a"][1].append("id/r")
    new = {**old, "id/r": ["3b", []]}  # the role's label changed
    assert pages_to_render(old, new) == {"id/r", "id/a", "id/m"}  # m shows "a (r)"
    assert pages_to_render(old, {**old, "def/Forum": ["7", []]}) is None  # a term: every page
    removed = {k: v for k, v in old.items() if k != "id/x"}
    assert pages_to_render(old, removed) == {"id/x", "id/y"}  # y showed the link from x
    broken = {**old, "id/z": "not a block"}
    assert "id/z" in pages_to_render(broken, old)


def test_a_prose_edit_makes_no_graph_and_links_as_before(project, monkeypatch):
    """A rebuild after a prose edit, with vocab/ unchanged, takes the titles
    and labels of the entries from what the last build kept: no rdflib graph
    is made, and the edited page links and labels its entries as a build from
    nothing does. A label changed in vocab/ is shown on the next build (the
    kept titles and labels are of other files then)."""
    from citydiplo.graph.load import Vocab

    set_entity_route(project, "collect")
    page = project.handbook_dir / "links.md"
    text = "---\norphan: true\n---\n\n# Links\n\nSee the {entity}`gfmd` and {entity}`its cities <mayors-mechanism>`.\n"
    page.write_text(text, encoding="utf-8")
    site = build_site(project, jobs=1, status=io.StringIO())
    fresh = (site / "links.html").read_text(encoding="utf-8")
    # what was kept is what the graph gives: titles, labels, the forums of module folders
    from citydiplo.site.collect import NAMES_FILE
    from citydiplo.site.sphinxext import label_of, last_state
    from citydiplo.site.theme import forum_of_module, module_forum

    state = last_state(project.handbook_dir)
    kept = json.loads((project.build_dir / ".doctrees" / "html" / NAMES_FILE).read_text(encoding="utf-8"))
    view = state.view
    assert kept["forums"] == {"gfmd": module_forum(view, "gfmd", "en")} and kept["forums"]["gfmd"]
    assert kept["labels"]["id:gfmd"] == view.label(view.node("gfmd")) and "id:no-such" not in kept["labels"]
    assert len(kept["titles"]) == len(view.entities) + len(view.terms)
    state._view, state.kept = None, None  # as in a build that made no graph
    assert forum_of_module(state, "gfmd", "en") == kept["forums"]["gfmd"]
    assert forum_of_module(state, "mayors-mechanism", "en") is None
    assert label_of(state, "id:gfmd") == kept["labels"]["id:gfmd"] and label_of(state, "id:no-such") is None
    assert state._view is None
    graphs = []
    materialise = Vocab._materialise
    spy = lambda self, shapes: (  # noqa: E731
        graphs.append(shapes) if any(entry[0] == shapes for entry in self._pending) else 0,
        materialise(self, shapes=shapes),
    )
    monkeypatch.setattr(Vocab, "_materialise", spy)
    page.write_text(text + "\nOne more sentence.\n", encoding="utf-8")
    build_site(project, jobs=1, status=io.StringIO())
    assert graphs == []  # the page, its entity links and the titles of every page without a graph
    edited = (site / "links.html").read_text(encoding="utf-8")
    assert "One more sentence." in edited
    link = re.compile(r'<a class="reference internal" href="id/[^"]+"[^>]*>.*?</a>', re.S)
    assert link.findall(edited) == link.findall(fresh) and len(link.findall(fresh)) == 2

    data = project.root / "vocab" / "data"
    path = next(p for p in sorted(data.rglob("*.ttl")) if '"Mayors Mechanism"@en' in p.read_text())
    path.write_text(path.read_text().replace('"Mayors Mechanism"@en', '"Mayors Mechanism Renamed"@en'))
    page.write_text(text.replace("its cities <mayors-mechanism>", "mayors-mechanism"), encoding="utf-8")
    build_site(project, jobs=1, status=io.StringIO())
    assert "Mayors Mechanism Renamed" in (site / "links.html").read_text(encoding="utf-8")
    assert "Mayors Mechanism Renamed" in (site / "id" / "mayors-mechanism.html").read_text(encoding="utf-8")
