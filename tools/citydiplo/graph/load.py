"""Load every ``vocab/**/*.ttl`` file, remembering where each subject is written.

pySHACL and rdflib report nodes, not places; the editor of a Turtle file
needs ``path:line``. The authoring style (one subject block per entity, the
subject at the start of a line) lets us map each subject to the file and
line range of its block by a light scan of the text. Blank nodes are mapped
to the block of the subject that contains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import rdflib
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from ..config import Project
from ..problems import Problem

PREFIX_RE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
SUBJECT_RE = re.compile(r"^(<[^>\s]*>|[A-Za-z][\w.-]*:[\w.-]*|:[\w.-]+)(?=[\s;,.]|$)")

# Where each kind of file lives below vocab/. Shapes are kept apart: they
# describe the data, they are not part of it (and are exported separately).
ROLE_DIRS = {"ontology": "ontology", "shapes": "shapes", "concepts": "concepts", "data": "data"}


@dataclass(frozen=True)
class Origin:
    """Where a subject block is written: file, first and last line (1-based)."""

    path: Path
    line: int
    end_line: int


@dataclass
class Vocab:
    """The loaded vocabulary: graphs, files and the origin of every subject."""

    project: Project
    files: list[Path] = field(default_factory=list)
    #: ontology + concepts + data: what is validated, compiled and exported
    graph: Graph = field(default_factory=Graph)
    shapes: Graph = field(default_factory=Graph)
    origins: dict[URIRef, Origin] = field(default_factory=dict)
    #: every place a subject block starts, to find subjects written twice
    blocks: dict[URIRef, list[Origin]] = field(default_factory=dict)
    prefixes: dict[Path, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _lines: dict[Path, list[str]] = field(default_factory=dict)

    @property
    def content_files(self) -> list[Path]:
        """The files whose triples make up the published graph."""
        shapes_dir = self.project.vocab_dir / ROLE_DIRS["shapes"]
        return [f for f in self.files if shapes_dir not in f.parents]

    def origin(self, node) -> Origin | None:
        """The block a node is written in; blank nodes map to their container."""
        seen = set()
        while isinstance(node, BNode) and node not in seen:
            seen.add(node)
            parents = list(self.graph.subjects(None, node)) or list(self.shapes.subjects(None, node))
            if not parents:
                return None
            node = parents[0]
        return self.origins.get(node)

    def locate(self, node, *terms) -> tuple[Path | None, int | None]:
        """File and line of ``node``'s block, narrowed to the first line
        that mentions one of ``terms`` (IRIs), if any does."""
        origin = self.origin(node)
        if origin is None:
            return None, None
        lines = self._lines.get(origin.path, [])
        spellings = [s for term in terms if term is not None for s in self.spellings(origin.path, term)]
        for number in range(origin.line, origin.end_line + 1):
            text = lines[number - 1] if number - 1 < len(lines) else ""
            if any(re.search(re.escape(s) + r"(?![\w-])", text) for s in spellings):
                return origin.path, number
        return origin.path, origin.line

    def spellings(self, path: Path, term) -> list[str]:
        """How an IRI may be written in a given file: full or prefixed."""
        iri = str(term)
        forms = [f"<{iri}>"]
        for prefix, ns in self.prefixes.get(path, {}).items():
            if iri.startswith(ns) and len(iri) > len(ns):
                forms.append(f"{prefix}:{iri[len(ns) :]}")
        if iri == str(RDF.type):
            forms.append("a")
        return forms


def vocab_files(project: Project) -> list[Path]:
    return sorted(p for p in project.vocab_dir.rglob("*.ttl") if p.is_file())


def scan_blocks(lines: list[str], prefixes: dict[str, str]) -> list[tuple[str, int, int]]:
    """Find subject blocks: (IRI, first line, last line), 1-based.

    A block starts where a line begins (column 0) with an IRI or a prefixed
    name, and ends before the next such line.
    """
    starts: list[tuple[str, int]] = []
    for number, text in enumerate(lines, start=1):
        if not text or text[0] in " \t#@" or text.upper().startswith(("PREFIX", "BASE")):
            continue
        match = SUBJECT_RE.match(text)
        if not match:
            continue
        token = match.group(1)
        if token.startswith("<"):
            iri = token[1:-1]
        else:
            prefix, _, local = token.partition(":")
            if prefix not in prefixes:
                continue
            iri = prefixes[prefix] + local
        starts.append((iri, number))
    blocks = []
    for index, (iri, start) in enumerate(starts):
        end = starts[index + 1][1] - 1 if index + 1 < len(starts) else len(lines)
        while end > start and not lines[end - 1].strip():
            end -= 1
        blocks.append((iri, start, end))
    return blocks


def syntax_problem(project: Project, path: Path, exc: Exception) -> Problem:
    """Turn a parser exception into a ``path:line`` problem."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    match = re.search(r"line (\d+)", message)
    if line is None and match:
        line = int(match.group(1))
    message = re.sub(r"\s*\([^()]*, line \d+\)\s*$", "", message)
    return Problem(project.rel(path), line or 1, None, f"Turtle syntax error: {message}", code="syntax")


def load(project: Project) -> Vocab:
    """Parse every Turtle file below ``vocab/``.

    A file with a syntax error is reported and skipped; the others load.
    """
    rdflib.NORMALIZE_LITERALS = False  # keep lexical forms as written
    vocab = Vocab(project=project)
    shapes_dir = project.vocab_dir / ROLE_DIRS["shapes"]
    for path in vocab_files(project):
        vocab.files.append(path)
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        vocab._lines[path] = lines
        # pyoxigraph first: its messages carry line and column.
        try:
            for _ in pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.TURTLE, base_iri=project.base_iri):
                pass
        except SyntaxError as exc:
            vocab.problems.append(syntax_problem(project, path, exc))
            continue
        target = vocab.shapes if shapes_dir in path.parents else vocab.graph
        try:
            target.parse(data=text, format="turtle", publicID=project.base_iri)
        except Exception as exc:  # rdflib's BadSyntax and friends
            vocab.problems.append(syntax_problem(project, path, exc))
            continue
        prefixes = {}
        for line in lines:
            match = PREFIX_RE.match(line)
            if match:
                prefixes[match.group(1) or ""] = match.group(2)
        vocab.prefixes[path] = prefixes
        for iri, start, end in scan_blocks(lines, prefixes):
            origin = Origin(path, start, end)
            node = URIRef(iri)
            vocab.blocks.setdefault(node, []).append(origin)
            vocab.origins.setdefault(node, origin)
    return vocab
