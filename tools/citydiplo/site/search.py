"""The site's search index: Pagefind, run over the built HTML.

``citydiplo build`` calls :func:`index_site` on the finished Sphinx output
(before it replaces the previous build), so every published site carries its
index in ``pagefind/``. Pagefind indexes only what the page template marks
with ``data-pagefind-body``: the article (not the navigation) of the written
pages (modules, how-to guides, explanations, routes, reference and data
pages), with the filters that :mod:`citydiplo.site.theme` puts there. The
pages generated one per entry of the graph (``id/``) and per vocabulary term
(``def/``) are not in the full-text index: it would grow with every entry
(Pagefind keeps metadata per page, and the entries repeat the same words).
They are found by their names instead, in both languages, through the name
table (``searchnames/``, :func:`citydiplo.site.theme.name_shards`), which the
search page asks first.

Pagefind splits the index into chunks (by word) and fragments (one per page),
so a first query fetches the chunks of its words and the fragments of the
results it shows, not the whole index (``tests/benchmarks/search_bytes.py``
measures it at today's size and with 5,000 synthetic entries; RESULTS.md).
The search page falls back to Sphinx's own index where Pagefind cannot run
(``file://``); that index still holds every page.

Pagefind comes as a binary with the ``pagefind[extended]`` package; the
extended build segments and stems German as well as English.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..config import Project

BUNDLE = "pagefind"
#: Word positions per index chunk (Pagefind's default is 20,000, ≈ 25 KB a
#: chunk here). A query fetches the chunk of each of its words, so smaller
#: chunks make a first query lighter; the list of chunks in the metadata grows
#: by a few bytes a chunk (tests/benchmarks/search_bytes.py, RESULTS.md).
INDEX_CHUNK_SIZE = 2000
#: how Pagefind 1.5 takes the chunk size (no command-line option yet)
CHUNK_SIZE_VARIABLE = "PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE"
#: Pagefind takes a few seconds for this site; far more means it hangs.
TIMEOUT_S = 600


#: sections whose pages are generated from the graph, one per entry or term:
#: found by name only (the name table), not in Pagefind's full-text index
#: (the page template gives them no ``data-pagefind-body``, and Pagefind is not
#: even shown them: reading thousands of pages it would drop costs seconds)
NAME_TABLE_ONLY = frozenset({"id", "def"})
#: folder names that can go into Pagefind's glob as they are
PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SearchIndexError(Exception):
    """Pagefind failed; the message carries its own explanation."""


def skipped(site: Path, path: Path) -> bool:
    """Whether Pagefind is not shown ``path`` (an entry or term page, or its own output)."""
    top = path.relative_to(site).parts[0]
    return top in NAME_TABLE_ONLY or top == BUNDLE


def indexed_pages(site: Path) -> list[Path]:
    """The HTML pages Pagefind reads: every page except the name-table sections."""
    return sorted(path for path in site.rglob("*.html") if not skipped(site, path))


def pagefind_glob(site: Path) -> str:
    """Pagefind's ``--glob``: the pages at the top and every folder but the
    name-table sections (Pagefind's default is every page, ``**/*.{html}``)."""
    folders = sorted(p.name for p in Path(site).iterdir() if p.is_dir() and not skipped(site, p))
    if not all(PLAIN_NAME.match(name) for name in folders):
        return "**/*.{html}"  # an unusual folder name: let Pagefind read every page (same index, slower)
    return "{" + ",".join(["*.html", *(f"{name}/**/*.html" for name in folders)]) + "}"


def pagefind_command(site: Path, language: str, glob: str = "**/*.{html}") -> list[str]:
    return [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(site),
        "--glob",
        glob,
        "--output-subdir",
        BUNDLE,
        # one index per edition: untranslated pages (marked lang="en" inside a
        # German page) are still found in the German site's search
        "--force-language",
        language,
        # links to folders' index pages keep "index.html", so they work from
        # any server and from file://
        "--keep-index-url",
        # Sphinx's "¶" permalinks would stick to the heading's last word
        "--exclude-selectors",
        "a.headerlink",
        "--quiet",
    ]


def pagefind_environment() -> dict[str, str]:
    import os

    return {**os.environ, CHUNK_SIZE_VARIABLE: str(INDEX_CHUNK_SIZE)}


def index_site(project: Project, site: Path, language: str, builder: str = "html") -> Path | None:
    """Write ``<site>/pagefind/``; returns it (``None`` for builders that are not websites).

    Raises :class:`citydiplo.site.build.BuildError` when Pagefind fails, so
    that the build stops and the previous site stays as it was.
    """
    from .build import BuildError

    if builder != "html":
        return None
    site = Path(site)
    bundle = site / BUNDLE
    # Pagefind writes its filter tables in hash-map order, so two runs over the
    # same pages differ in bytes. The build starts from a copy of the previous
    # output: when the pages Pagefind reads are the same, keep its index as it
    # was (a no-change rebuild then equals the clean build byte for byte).
    stamp = bundle / INPUT_STAMP
    digest = input_digest(site, language)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == digest and (bundle / "pagefind.js").is_file():
        return bundle
    shutil.rmtree(bundle, ignore_errors=True)
    try:
        result = subprocess.run(
            pagefind_command(site, language, pagefind_glob(site)),
            env=pagefind_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"the search index (Pagefind) could not be built: {exc}") from None
    if result.returncode != 0 or not (bundle / "pagefind.js").is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BuildError(
            "the search index (Pagefind) could not be built"
            + (": " + " / ".join(detail) if detail else f" (exit status {result.returncode})")
        )
    stamp.write_text(digest, encoding="utf-8")
    return bundle


#: The digest of what Pagefind read, kept beside its index.
INPUT_STAMP = "citydiplo-input.sha256"


def input_digest(site: Path, language: str) -> str:
    """A digest of the pages Pagefind indexes and of how it is called."""
    import hashlib

    glob = pagefind_glob(site)
    call = [*map(str, pagefind_command(Path("."), language, glob)), f"{CHUNK_SIZE_VARIABLE}={INDEX_CHUNK_SIZE}"]
    digest = hashlib.sha256(" ".join(call).encode())
    for path in indexed_pages(site):
        digest.update(path.relative_to(site).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
