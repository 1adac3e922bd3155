"""The data changelog: entities added, removed and changed between two dumps.

``citydiplo diff OLD NEW`` reads two releases of the dump (a dump file,
``citydiplo.nt``/``.ttl``/``.jsonld``, or a folder holding one, such as
``build/dist/0.1.0/``) and lists, for every IRI of the project (things under
``id/``, terms under ``def/``), whether it was added, removed or changed. An
IRI has changed when the triples it is the subject of differ, blank nodes
(memberships, access options) compared by their content; the changed
properties are named. The output is Markdown, ready for the release notes.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple

from ..config import Project

#: Dump files looked for in a folder, in this order (a release kept in the
#: repository's ``vocab/releases/<version>/`` may hold its N-Triples gzipped).
DUMP_FILES = (
    ("citydiplo.nt", RdfFormat.N_TRIPLES),
    ("citydiplo.ttl", RdfFormat.TURTLE),
    ("citydiplo.nt.gz", RdfFormat.N_TRIPLES),
)
SUFFIXES = {".nt": RdfFormat.N_TRIPLES, ".ttl": RdfFormat.TURTLE, ".jsonld": RdfFormat.JSON_LD}
#: Where the repository keeps earlier releases (``vocab/releases/<version>/``).
RELEASES_DIR = "releases"
LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
VERSION = "http://www.w3.org/2002/07/owl#versionInfo"
#: A release folder's name: a version (0.1.0, 1.0.0-rc1, 0.1.0+6fe34a3).
VERSION_NAME = re.compile(r"^[0-9][0-9A-Za-z.+-]*$")


class DiffError(Exception):
    """A dump that cannot be found or read (a user mistake)."""


@dataclass
class Change:
    iri: str
    label: str
    properties: list[str] = field(default_factory=list)


@dataclass
class DataDiff:
    old_version: str
    new_version: str
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)


def dump_file(path: Path) -> tuple[Path, RdfFormat]:
    """The dump file named by ``path``: the file itself, or the dump in a folder."""
    if path.is_dir():
        for name, fmt in DUMP_FILES:
            if (path / name).is_file():
                return path / name, fmt
        raise DiffError(f"{path}: no citydiplo.nt or citydiplo.ttl (or citydiplo.nt.gz) in this folder")
    if not path.is_file():
        raise DiffError(f"{path}: no such file or folder")
    fmt = RdfFormat.N_TRIPLES if path.name.endswith(".nt.gz") else SUFFIXES.get(path.suffix)
    if fmt is None:
        raise DiffError(f"{path}: not a dump file (.nt, .nt.gz, .ttl or .jsonld)")
    return path, fmt


def read_dump(path: Path) -> list[Triple]:
    file, fmt = dump_file(path)
    try:
        if file.name.endswith(".gz"):
            with gzip.open(file, "rb") as stream:
                return [q.triple for q in pyoxigraph.parse(stream.read(), format=fmt)]
        return [q.triple for q in pyoxigraph.parse(path=str(file), format=fmt)]
    except (SyntaxError, ValueError, OSError, EOFError) as exc:
        raise DiffError(f"{file}: cannot read: {exc}") from None


def _version_key(name: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.+-]", name))


def previous_release(project: Project) -> Path | None:
    """The latest earlier release kept in the repository (``vocab/releases/<version>/``
    with a dump in it, other than the current version's), or None."""
    folder = project.vocab_dir / RELEASES_DIR
    if not folder.is_dir():
        return None
    found = []
    for path in folder.iterdir():
        if not (path.is_dir() and path.name != project.version and VERSION_NAME.match(path.name)):
            continue
        if any((path / name).is_file() for name, _ in DUMP_FILES):
            found.append(path)
    return max(found, key=lambda p: _version_key(p.name)) if found else None


def descriptions(project: Project, triples: list[Triple]) -> dict[str, dict[str, set[str]]]:
    """For each project IRI: ``{predicate: {value, …}}``, blank nodes spelled
    out by their content so that relabelling them is no change."""
    index: dict = {}
    for t in triples:
        index.setdefault(t.subject, []).append(t)
    memo: dict = {}

    def sig(node, trail=()) -> str:
        if node in memo:
            return memo[node]
        if node in trail:  # a cycle of blank nodes: name it by its place
            return "cycle"
        parts = sorted(f"{t.predicate} {_term_in(t.object, (*trail, node))}" for t in index.get(node, []))
        memo[node] = "; ".join(parts)
        return memo[node]

    def _term_in(term, trail) -> str:
        return "[" + sig(term, trail) + "]" if isinstance(term, BlankNode) else str(term)

    out: dict[str, dict[str, set[str]]] = {}
    for subject, ts in index.items():
        if not isinstance(subject, NamedNode):
            continue
        if not subject.value.startswith((project.id_ns, project.def_ns)):
            continue
        props: dict[str, set[str]] = {}
        for t in ts:
            props.setdefault(t.predicate.value, set()).add(_term_in(t.object, ()))
        out[subject.value] = props
    return out


def _labels(triples: list[Triple]) -> dict[str, str]:
    """Each IRI's label: its English skos:prefLabel or rdfs:label, else any."""
    found: dict[str, list] = {}
    for t in triples:
        labelled = isinstance(t.object, Literal) and isinstance(t.subject, NamedNode)
        if labelled and t.predicate.value in (LABEL, RDFS_LABEL):
            found.setdefault(t.subject.value, []).append(t.object)
    out = {}
    for iri, labels in found.items():
        english = sorted(lit.value for lit in labels if lit.language == "en")
        out[iri] = (english or sorted(lit.value for lit in labels))[0]
    return out


def _version(triples: list[Triple]) -> str:
    found = sorted(t.object.value for t in triples if t.predicate.value == VERSION and isinstance(t.object, Literal))
    return found[-1] if found else "?"


def diff(project: Project, old: Path, new: Path) -> DataDiff:
    return diff_triples(project, read_dump(old), read_dump(new))


def diff_triples(project: Project, before: list[Triple], after: list[Triple]) -> DataDiff:
    """The changes from one dump's triples to another's."""
    a, b = descriptions(project, before), descriptions(project, after)
    result = DataDiff(_version(before), _version(after))
    old_labels, new_labels = _labels(before), _labels(after)
    for iri in sorted(b.keys() - a.keys()):
        result.added.append(Change(iri, new_labels.get(iri, "")))
    for iri in sorted(a.keys() - b.keys()):
        result.removed.append(Change(iri, old_labels.get(iri, "")))
    for iri in sorted(a.keys() & b.keys()):
        if a[iri] != b[iri]:
            props = sorted(p for p in a[iri].keys() | b[iri].keys() if a[iri].get(p) != b[iri].get(p))
            result.changed.append(Change(iri, new_labels.get(iri, ""), [compact(project, p) for p in props]))
    return result


def compact(project: Project, iri: str) -> str:
    from .export import prefixes

    for prefix, ns in sorted(prefixes(project).items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def escape(text: str) -> str:
    """A label as plain Markdown text (no markup from the data)."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in " ".join(text.split()))


def markdown(project: Project, result: DataDiff) -> str:
    """The changelog as Markdown: three lists, one line per IRI."""
    lines = [f"## Data changes from {result.old_version} to {result.new_version}", ""]
    lines.append(f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed.")
    for title, changes in (("Added", result.added), ("Removed", result.removed), ("Changed", result.changed)):
        if not changes:
            continue
        lines += ["", f"### {title} ({len(changes)})", ""]
        for change in changes:
            text = f"- `{compact(project, change.iri)}`"
            if change.label:
                text += " " + escape(change.label)
            if change.properties:
                text += ": " + ", ".join(f"`{p}`" for p in change.properties)
            lines.append(text)
    return "\n".join(lines) + "\n"
