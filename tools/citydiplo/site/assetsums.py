"""The checksums of the site's CSS and JS files, found once per build.

Sphinx adds ``?v=<checksum>`` to every stylesheet and script a page loads.
For each asset of each page it resolves the file's path (``realpath``: a
system call per path part) before looking up the checksum it keeps; with
fourteen assets on each of thousands of generated pages that lookup alone
took seconds of a build. This extension keeps the answer per output folder
and file name for the rest of the build. The assets are copied before any
page is written and not changed afterwards, so the answer cannot go stale
within a build; the cache, and Sphinx's own cache of the checksums, are
emptied when a build starts (``serve --watch`` builds many times in one
process, and a changed stylesheet must get a new checksum).
"""

from __future__ import annotations

import os

from sphinx.builders import html as html_builder
from sphinx.builders.html import _assets

_CACHE: dict[tuple[str, str], str] = {}


def cached_checksum(outdir, filename) -> str:
    key = (os.fspath(outdir), os.fspath(filename))
    try:
        return _CACHE[key]
    except KeyError:
        value = _CACHE[key] = _assets._file_checksum(outdir, filename)
        return value


def reset(app) -> None:
    _CACHE.clear()
    _assets._file_checksum_inner.cache_clear()


def setup(app):
    # the builder module imported the function by name: replace it there
    if getattr(html_builder, "_file_checksum", None) is _assets._file_checksum:
        html_builder._file_checksum = cached_checksum
    app.connect("builder-inited", reset)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
