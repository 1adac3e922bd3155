"""Build the site with Sphinx, atomically and one build at a time.

The vocabulary is validated first (fast, with ``path:line`` messages). Sphinx
then builds into a temporary copy of the previous output, with warnings as
errors; only a clean build replaces ``build/html``. A failed build leaves the
previous output as it was and drops the doctree cache, so that the next run
reads every page again and reports every warning again.

- **Lock.** The whole build holds ``build/.lock`` (:func:`~citydiplo.files.build_lock`):
  a second build of the same ``build/`` waits until the first has finished,
  and says so.
- **Order of the swap.** ``citydiplo build`` writes the dump (``build/dist``)
  first and the site second, each swapped in whole. Both carry the same
  ``SHA256SUMS`` (the site's own copy is ``build/html/dist/SHA256SUMS``), which
  identifies the build: if the two files differ, the process was stopped
  between the two swaps and the next build puts them in step.
- **Crashes.** :func:`~citydiplo.files.replace_dir` exchanges the folders in
  one step; a folder moved aside by an interrupted swap is put back by the
  next build.
- **Stale output.** Pages (and their RDF files) whose source is gone are
  removed from the output, so the output equals a clean build's.
- **Search index.** Sphinx keeps the index entries (glossary terms) in its
  environment but saves the environment before it writes the pages, so a
  rebuild that writes nothing dropped them from ``searchindex.js``; the
  environment is saved again once the pages are written.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.util.docutils import docutils_namespace, patch_docutils

from ..config import Project
from ..files import build_lock, link_or_copy_tree, recover_dir, replace_dir, source_lock, write_if_changed
from ..graph.load import hand_on, load
from ..graph.validate import errors, start_shacl, validate
from .compile import compile_key
from .search import index_site

#: In build/: the key (site.compile.compile_key) of the vocab/ that a build last found valid.
VALID_STAMP = ".citydiplo-valid"


class BuildError(Exception):
    """The build failed; the message says why and that the old output is kept."""


def auto_jobs() -> int:
    """Sphinx processes for ``-j auto``: one per core, plus one. Sphinx reads with
    N workers but writes with N - 1 (the main process merges and feeds the search
    index), so on 2 cores ``-j 2`` writes in a single worker."""
    return (os.cpu_count() or 1) + 1


def output_name(project: Project, builder: str, language: str, edition: str) -> str:
    name = builder
    if language != project.languages[0]:
        name += f"-{language}"
    if edition != "participant":
        name += f"-{edition}"
    return name


#: Pages Sphinx writes that have no source file.
SPECIAL_PAGES = {"genindex", "search", "py-modindex"}
#: Output folders that are not pages.
ASSET_DIRS = {"_static", "_images", "_sources", "_downloads", "dist"}


def run_sphinx(
    project: Project,
    outdir: Path,
    doctrees: Path,
    builder: str,
    overrides: dict,
    jobs: int,
    status=sys.stdout,
    notify: Callable[[str], None] | None = None,
) -> int:
    """One Sphinx build with warnings as errors (``-nW --keep-going``); returns its status.

    It holds the lock of ``handbook/`` (:func:`~citydiplo.files.source_lock`)
    from the compile of the generated pages to the last page written: another
    build of the same handbook, into any ``build/`` folder, waits for it."""
    with source_lock(project.handbook_dir, notify=notify), patch_docutils(project.conf_dir), docutils_namespace():
        app = Sphinx(
            srcdir=project.handbook_dir,
            confdir=project.conf_dir,
            outdir=outdir,
            doctreedir=doctrees,
            buildername=builder,
            confoverrides={"nitpicky": True, **overrides},
            status=status,
            warning=sys.stderr,
            warningiserror=True,
            keep_going=True,
            parallel=jobs,
        )
        # Sphinx would name the temporary folder ("pages are in build/html.tmp");
        # build_site says where the output ends up once it is in place.
        app.builder.epilog = ""
        # Every page of this build: the source pages, and the pages written
        # without a source (genindex, search, html-collect-pages).
        pages: set[str] = set()
        app.connect("html-page-context", lambda _app, pagename, *_args: pages.add(pagename))
        app.connect("html-page-context", unshare_page)
        app.build()
        # the entity and term pages of the collect route that were unchanged, and so not written again
        pages |= set(getattr(app.builder, "_citydiplo_manifest", None) or ())
        if app.statuscode == 0 and builder == "html":
            remove_stale(outdir, set(app.env.found_docs) | pages, published_resources(outdir))
            save_environment(app, doctrees)
        return app.statuscode


#: Output files written only by replacing them: the copy of the previous
#: output a build starts from links them instead of copying them (see
#: :func:`is_linked`). Pages are written by Sphinx, which opens them for
#: writing; :func:`unshare_page` deletes the link first.
LINKED_SUFFIXES = (".html", ".ttl", ".jsonld", ".nt", ".rdf")


def is_linked(rel: str) -> bool:
    """Whether the build's copy of the previous output links ``rel`` (a
    relative POSIX path: a page, or the RDF files of an entry or term) rather
    than copying it. Thousands of entries make tens of thousands of such
    files: copying them was seconds of every rebuild, linking them a
    fraction. Everything else (assets, downloads, the search index, the dump)
    is copied: Sphinx and Pagefind write some of it in place."""
    top, _, rest = rel.partition("/")
    top = top if rest else ""
    if top in ASSET_DIRS or top == "pagefind":
        return False
    suffix = os.path.splitext(rel)[1]
    if suffix == ".html":
        return True
    return top in ("id", "def") and suffix in LINKED_SUFFIXES


def unshare_page(app, pagename, templatename, context, doctree) -> None:
    """Before Sphinx writes a page into a copy that links the previous output:
    delete the link, so that Sphinx writes a new file instead of writing
    through the link into the previous output (which must stay as it was
    until the new output replaces it, and stay whole if the build fails)."""
    where = getattr(app.builder, "get_output_path", None) or getattr(app.builder, "get_outfilename", None)
    if where is None:
        return
    path = Path(where(pagename))
    try:
        if path.stat().st_nlink > 1:
            path.unlink()
    except FileNotFoundError:
        pass


def save_environment(app, doctrees: Path) -> None:
    """Save the environment again after writing (see the module's docstring)."""
    from sphinx.application import ENV_PICKLE_FILENAME

    path = doctrees / ENV_PICKLE_FILENAME
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(app.env, f, pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def published_resources(outdir: Path) -> set[str]:
    """The resources this build wrote RDF files for (``id/<slug>``, ``def/<Name>``;
    :data:`citydiplo.site.publish.MANIFEST`), with or without a page."""
    import json

    from .publish import MANIFEST

    try:
        resources = json.loads((outdir / MANIFEST).read_text(encoding="utf-8")).get("resources")
    except (OSError, ValueError, AttributeError):
        return set()
    return set(resources) if isinstance(resources, dict) else set()


def remove_stale(outdir: Path, docnames: set[str], resources: set[str] = frozenset()) -> list[Path]:
    """Remove the pages, and the per-IRI RDF files next to them, whose source
    page no longer exists (an entity removed from ``vocab/``). The RDF files of
    ``resources`` stay even without a page (a datatype of the ontology has its
    description but no page of its own). Links are left alone, and so are the
    asset folders (not even listed: a site has tens of thousands of files)."""
    described = set(docnames) | set(resources)
    removed = []

    def walk(folder: str, prefix: str, depth: int) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                rel = prefix + entry.name
                if entry.is_dir():
                    if not (depth == 0 and entry.name in ASSET_DIRS):
                        walk(entry.path, rel + "/", depth + 1)
                    continue
                if not entry.is_file() or (depth == 0 and not entry.name.endswith(".html")):
                    continue
                head, _, name = rel.rpartition("/")
                stem = (head + "/" if head else "") + name.split(".", 1)[0]
                if name.endswith(".html"):
                    stale = stem not in docnames and stem not in SPECIAL_PAGES
                else:  # id/<slug>.ttl, def/<Term>.jsonld …: stale with their page
                    stale = depth == 1 and head in ("id", "def") and stem not in described
                if stale:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))

    walk(os.fspath(outdir), "", 0)
    return sorted(removed)


def build_site(
    project: Project,
    edition: str = "participant",
    language: str | None = None,
    jobs: str | int = "auto",
    builder: str = "html",
    status=sys.stdout,
    before_swap: Callable[[Path], None] | None = None,
    notify: Callable[[str], None] | None = None,
    after_swap: Callable[[Path], None] | None = None,
) -> Path:
    """Validate, then build ``builder`` output into ``build/<name>``; returns that folder.

    ``before_swap(tmp)`` runs once Sphinx has succeeded, before the new output
    replaces the old one (``citydiplo build`` writes the dump there); if it
    raises, the old output is kept. ``notify`` is told when the build waits
    for another one. ``after_swap(out)`` runs as soon as the new output is in
    place, before the previous copy is removed (``serve --watch`` tells open
    pages to reload then).
    """
    language = language or project.languages[0]
    if jobs == "auto":
        n_jobs = auto_jobs()
    else:
        try:
            n_jobs = int(jobs)
        except ValueError:
            raise BuildError(f"--jobs must be a number or 'auto', got {jobs!r}") from None
        if n_jobs < 1:
            raise BuildError(f"--jobs must be at least 1, got {n_jobs}")
    # The key is taken before the files are read: a file saved meanwhile makes
    # the next build validate again, never skip a version nobody validated.
    valid_key = compile_key(project, "validate", "", "")
    stamp = project.build_dir / VALID_STAMP
    # vocab/ as the last build that validated it saw it: its syntax is checked
    # again (load), the rest of the checks (seconds at thousands of entries) not
    checked = stamp.is_file() and stamp.read_text(encoding="utf-8") == valid_key
    shacl = None if checked else start_shacl(project)  # on the second core while the files are loaded
    try:
        vocab = load(project)
    except BaseException:
        if shacl is not None:
            shacl.cancel()
        raise
    # while SHACL runs on the other core, the graph the pages are compiled from is made
    problems = errors(vocab.problems if checked else validate(vocab, shacl=shacl, meanwhile=lambda: vocab.graph))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise BuildError(f"{len(problems)} error(s) in vocab/ (listed above); nothing was built")
    if not checked:
        project.build_dir.mkdir(parents=True, exist_ok=True)
        write_if_changed(stamp, valid_key)
    name = output_name(project, builder, language, edition)
    out = project.build_dir / name
    doctrees = project.build_dir / ".doctrees" / name
    tmp = out.with_name(out.name + ".tmp")
    with build_lock(project.build_dir, notify=notify):
        recover_dir(out)
        recover_dir(project.build_dir / "dist")
        shutil.rmtree(tmp, ignore_errors=True)
        if out.is_dir():
            link_or_copy_tree(out, tmp, is_linked)
        overrides = {"language": language, "citydiplo_edition": edition, "citydiplo_validate": False}
        hand_on(vocab)  # the Sphinx extension takes it over rather than read vocab/ again
        try:
            code = run_sphinx(project, tmp, doctrees, builder, overrides, n_jobs, status=status, notify=notify)
            reason = "Sphinx reported warnings (listed above)"
        except SphinxError as exc:
            code, reason = 1, f"Sphinx stopped: {exc}"
        except (OSError, UnicodeDecodeError, RecursionError) as exc:
            code, reason = 1, f"Sphinx stopped: {type(exc).__name__}: {exc}"
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(doctrees, ignore_errors=True)
            raise
        if code != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(doctrees, ignore_errors=True)
            kept = f"{project.rel(out)} was left as it was" if out.exists() else "no output was written"
            raise BuildError(f"{reason}; {kept}")
        try:
            index_site(project, tmp, language, builder)  # the search index (site/search.py)
            if before_swap is not None:
                before_swap(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        replace_dir(tmp, out, after_swap)
    return out
