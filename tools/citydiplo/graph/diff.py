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

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple

from ..config import Project

#: Dump files looked for in a folder, in this order.
DUMP_FILES = (("citydiplo.nt", RdfFormat.N_TRIPLES), ("citydiplo.ttl", RdfFormat.TURTLE))
SUFFIXES = {".nt": RdfFormat.N_TRIPLES, ".ttl": RdfFormat.TURTLE, ".jsonld": RdfFormat.JSON_LD}
LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
VERSION = "http://www.w3.org/2002/07/owl#versionInfo"


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
        raise DiffError(f"{path}: no citydiplo.nt or citydiplo.ttl in this folder")
    if not path.is_file():
        raise DiffError(f"{path}: no such file or folder")
    fmt = SUFFIXES.get(path.suffix)
    if fmt is None:
        raise DiffError(f"{path}: not a dump file (.nt, .ttl or .jsonld)")
    return path, fmt


def read_dump(path: Path) -> list[Triple]:
    file, fmt = dump_file(path)
    try:
        return [q.triple for q in pyoxigraph.parse(path=str(file), format=fmt)]
    except (SyntaxError, ValueError) as exc:
        raise DiffError(f"{file}: cannot read: {exc}") from None


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


def _label(triples: list[Triple], iri: str) -> str:
    node = NamedNode(iri)
    labels = [
        t.object
        for t in triples
        if t.subject == node and t.predicate.value in (LABEL, RDFS_LABEL) and isinstance(t.object, Literal)
    ]
    english = [lit.value for lit in labels if lit.language == "en"]
    return (english or [lit.value for lit in labels] or [""])[0]


def _version(triples: list[Triple]) -> str:
    found = sorted(t.object.value for t in triples if t.predicate.value == VERSION and isinstance(t.object, Literal))
    return found[-1] if found else "?"


def diff(project: Project, old: Path, new: Path) -> DataDiff:
    before, after = read_dump(old), read_dump(new)
    a, b = descriptions(project, before), descriptions(project, after)
    result = DataDiff(_version(before), _version(after))
    for iri in sorted(b.keys() - a.keys()):
        result.added.append(Change(iri, _label(after, iri)))
    for iri in sorted(a.keys() - b.keys()):
        result.removed.append(Change(iri, _label(before, iri)))
    for iri in sorted(a.keys() & b.keys()):
        if a[iri] != b[iri]:
            props = sorted(p for p in a[iri].keys() | b[iri].keys() if a[iri].get(p) != b[iri].get(p))
            result.changed.append(Change(iri, _label(after, iri), [compact(project, p) for p in props]))
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
