"""Build the site with Sphinx, atomically.

The vocabulary is validated first (fast, with ``path:line`` messages). Sphinx
then builds into a temporary copy of the previous output, with warnings as
errors; only a clean build replaces ``build/html``. A failed build leaves the
previous output as it was and drops the doctree cache, so that the next run
reads every page again and reports every warning again.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.util.docutils import docutils_namespace, patch_docutils

from ..config import Project
from ..files import replace_dir
from ..graph.load import load
from ..graph.validate import errors, validate
from .search import index_site


class BuildError(Exception):
    """The build failed; the message says why and that the old output is kept."""


def output_name(project: Project, builder: str, language: str, edition: str) -> str:
    name = builder
    if language != project.languages[0]:
        name += f"-{language}"
    if edition != "participant":
        name += f"-{edition}"
    return name


def run_sphinx(
    project: Project, outdir: Path, doctrees: Path, builder: str, overrides: dict, jobs: int, status=sys.stdout
) -> int:
    """One Sphinx build with warnings as errors (``-nW --keep-going``); returns its status."""
    with patch_docutils(project.conf_dir), docutils_namespace():
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
        app.build()
        return app.statuscode


def build_site(
    project: Project,
    edition: str = "participant",
    language: str | None = None,
    jobs: str | int = "auto",
    builder: str = "html",
    status=sys.stdout,
) -> Path:
    """Validate, then build ``builder`` output into ``build/<name>``; returns that folder."""
    language = language or project.languages[0]
    problems = errors(validate(load(project)))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise BuildError(f"{len(problems)} error(s) in vocab/ (listed above); nothing was built")
    name = output_name(project, builder, language, edition)
    out = project.build_dir / name
    doctrees = project.build_dir / ".doctrees" / name
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if out.is_dir():
        shutil.copytree(out, tmp, symlinks=True)
    n_jobs = (os.cpu_count() or 1) if jobs == "auto" else int(jobs)
    overrides = {"language": language, "citydiplo_edition": edition, "citydiplo_validate": False}
    try:
        code = run_sphinx(project, tmp, doctrees, builder, overrides, n_jobs, status=status)
        reason = "Sphinx reported warnings (listed above)"
    except SphinxError as exc:
        code, reason = 1, f"Sphinx stopped: {exc}"
    if code != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(doctrees, ignore_errors=True)
        kept = f"{project.rel(out)} was left as it was" if out.exists() else "no output was written"
        raise BuildError(f"{reason}; {kept}")
    index_site(project, tmp, language, builder)  # the search index (site/search.py)
    replace_dir(tmp, out)
    return out
