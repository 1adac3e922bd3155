"""Names that become file names, and the one function that turns them into paths.

Every generated file whose name comes from the data (an entity's slug, a
term's name) is written through :func:`output_path`, which checks the name's
shape and that the resolved path stays inside its folder. The same shape
rules are used by validation (``citydiplo validate`` reports a bad slug at
``path:line``), so a name that passes validation is always a safe file name.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: kebab-case: ``mayors-mechanism``, ``gfmd-summit-2024``
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: an ontology term: ``Forum``, ``lastChecked``, ``hasAccessOption``
TERM_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: a generated page or file below its folder: slug-like segments, one suffix
REL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

MAX_NAME = 200


class UnsafePath(ValueError):
    """A name that would be written outside its folder, or is not a valid name."""


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` is not a valid entity slug, or None when it is."""
    if not slug:
        return "the slug is empty"
    if len(slug) > MAX_NAME:
        return f"the slug is longer than {MAX_NAME} characters"
    if not SLUG_RE.match(slug):
        return f"slug {slug!r} is not kebab-case (lowercase letters, digits and single hyphens: mayors-mechanism)"
    return None


def term_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ontology term name, or None when it is."""
    if not name:
        return "the term name is empty"
    if len(name) > MAX_NAME:
        return f"the term name is longer than {MAX_NAME} characters"
    if not TERM_RE.match(name):
        return f"term name {name!r} is not a plain name (letters and digits, starting with a letter: lastChecked)"
    return None


def is_slug(slug: str) -> bool:
    return slug_problem(slug) is None


def is_term(name: str) -> bool:
    return term_problem(name) is None


def output_path(folder: Path, rel: str) -> Path:
    """The path of ``rel`` (``id/gfmd.md``, ``def/Forum.ttl``, ``csv/actors.csv``)
    below ``folder``; raises :class:`UnsafePath` unless every segment is a plain
    name and the resolved path is inside the resolved folder (symlinks included).

    A plain segment cannot be ``..``, so only a symbolic link below the folder
    could lead out of it: each segment that exists is looked at, and a path
    through a link is resolved whole and checked (the folder is resolved on
    every call; the build writes its files into folders it has just made).
    """
    parts = rel.split("/")
    if not rel or any(not part or len(part) > MAX_NAME or not REL_RE.match(part) for part in parts):
        raise UnsafePath(f"{rel!r} is not a safe file name below {folder}")
    base = os.path.realpath(folder)
    current = base
    for part in parts:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            break  # nothing below a missing segment exists, so nothing below it is a link
        if stat.S_ISLNK(mode):
            path = Path(os.path.join(base, *parts)).resolve()
            if str(path) == base or not str(path).startswith(base.rstrip(os.sep) + os.sep):
                raise UnsafePath(f"{rel!r} resolves to {path}, outside {base}")
            break
    return Path(base, *parts)
