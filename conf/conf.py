"""Sphinx configuration of the handbook.

Used as ``sphinx-build -c conf handbook build/html`` and by ``citydiplo build``.
Project-wide settings (base IRI, version, languages) come from
``conf/citydiplo.toml`` through :mod:`citydiplo.config`.
"""

from pathlib import Path

from citydiplo.config import load_project

ROOT = Path(__file__).resolve().parent.parent
PROJECT = load_project(ROOT)

project = PROJECT.name
author = "The citydiplo project contributors"
copyright = "2026, the citydiplo project contributors (text and data: CC BY 4.0)"
version = release = PROJECT.version
language = PROJECT.languages[0]

extensions = [
    "myst_parser",
    "sphinx_design",
    "citydiplo.sphinxext",
]
citydiplo_root = str(ROOT)

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["**/README.md", "**/*.tmp"]

# MyST: the syntax the handbook uses
myst_enable_extensions = [
    "attrs_block",
    "attrs_inline",
    "colon_fence",
    "deflist",
    "fieldlist",
    "substitution",
    "tasklist",
]
myst_heading_anchors = 3
myst_substitutions = {"version": PROJECT.version}

# German comes as a translation of the English source (gettext catalogues).
locale_dirs = [str(ROOT / "handbook" / "locales")]
gettext_compact = False

# HTML: furo is light (≈ 40 KB compressed per cold page), accessible (skip
# link, colour contrast, dark mode, keyboard navigation) and styles
# sphinx-design. Generated entity pages are orphans reached from directory
# pages, which keeps furo's sidebar small and the build linear.
html_theme = "furo"
html_title = "City diplomacy on migration"
html_static_path = ["_static"]
html_css_files = ["citydiplo.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": True,
    "top_of_page_buttons": [],
}

# Print/EPUB
epub_show_urls = "no"
