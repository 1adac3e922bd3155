"""Furo's navigation tree, computed once per folder for pages outside the toctree.

Furo renders the whole site's navigation (the global toctree, then a
BeautifulSoup pass) for every page; at thousands of generated entity pages
that is the largest single cost of a build. A page that no toctree includes
(an orphan: the generated entity and term pages) has no "current" entry in
that tree, so its tree differs from another orphan's in the same folder only
if their relative links differ, and they do not: links are relative to the
folder. This extension hides ``toctree`` from furo on such pages, then puts
the tree furo computed for the first orphan page of the same folder back
(recomputing it with furo's own function), and restores ``toctree``.

The cache lives in the process that writes the pages (each parallel writer
has its own) and is emptied at the start of every build.
"""

from __future__ import annotations

import posixpath

_HIDDEN = "_citydiplo_toctree"


def _is_orphan(app, pagename: str) -> bool:
    env = app.env
    if pagename == app.config.root_doc:
        return False
    if pagename not in env.all_docs:  # a page without a source is outside the toctree too
        from .collect import is_collected

        return is_collected(app, pagename)
    return not env.files_to_rebuild.get(pagename)


def before_theme(app, pagename, templatename, context, doctree) -> None:
    if not app.config.citydiplo_nav_cache or app.config.html_theme != "furo":
        return
    if app.builder.name not in ("html", "dirhtml"):
        return
    if "toctree" not in context or not _is_orphan(app, pagename):
        return
    context[_HIDDEN] = context.pop("toctree")


def after_theme(app, pagename, templatename, context, doctree) -> None:
    toctree = context.pop(_HIDDEN, None)
    if toctree is None:
        return
    from furo import _compute_navigation_tree

    context["toctree"] = toctree
    cache = app.__dict__.setdefault("_citydiplo_nav_cache", {})
    key = posixpath.dirname(pagename)
    if key not in cache:
        cache[key] = _compute_navigation_tree(context)
    context["furo_navigation_tree"] = cache[key]


def reset(app, *args) -> None:
    app.__dict__.pop("_citydiplo_nav_cache", None)


def setup(app):
    app.add_config_value("citydiplo_nav_cache", True, "html", types=[bool])
    app.connect("builder-inited", reset)
    # furo's own handler runs at the default priority (500)
    app.connect("html-page-context", before_theme, priority=400)
    app.connect("html-page-context", after_theme, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
