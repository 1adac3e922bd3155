"""Furo's navigation computed once per folder gives the same pages as computing it per page."""

from __future__ import annotations

import io

import furo

from citydiplo.site.build import run_sphinx


def test_navigation_cache_keeps_every_page_identical(project, monkeypatch):
    outs = {}
    trees = {}
    real = furo.get_navigation_tree

    def counting(html):
        if html:
            trees[cached] = trees.get(cached, 0) + 1
        return real(html)

    monkeypatch.setattr(furo, "get_navigation_tree", counting)
    for cached in (True, False):
        out = project.root / "build" / f"html-{cached}"
        overrides = {"citydiplo_nav_cache": cached, "citydiplo_validate": False}
        doctrees = project.root / "build" / f".doctrees-{cached}"
        assert run_sphinx(project, out, doctrees, "html", overrides, 1, status=io.StringIO()) == 0
        outs[cached] = out
    pages = sorted(p.relative_to(outs[False]) for p in outs[False].rglob("*.html"))
    assert sorted(p.relative_to(outs[True]) for p in outs[True].rglob("*.html")) == pages
    entity_pages = [p for p in pages if p.parts[0] == "id"]
    assert len(entity_pages) >= 5
    # one tree for all of id/ instead of one per entity page
    assert trees[False] - trees[True] >= len(entity_pages) - 1
    for page in pages:
        assert (outs[True] / page).read_bytes() == (outs[False] / page).read_bytes(), page
    # the generated pages do carry the site's navigation (not an empty tree)
    sample = (outs[True] / entity_pages[0]).read_text(encoding="utf-8")
    assert 'class="sidebar-tree"' in sample and "toctree-l1" in sample
