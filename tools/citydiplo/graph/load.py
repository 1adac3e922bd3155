"""Load every ``vocab/**/*.ttl`` file, remembering where each subject is written.

pySHACL and rdflib report nodes, not places; the editor of a Turtle file
needs ``path:line``. The authoring style (one subject block per entity, the
subject at the start of a line) lets us map each subject to the file and
line range of its block by a light scan of the text. Blank nodes are mapped
to the block of the subject that contains them.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pyoxigraph
import rdflib
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from ..config import Project
from ..problems import Problem

PREFIX_RE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
BASE_RE = re.compile(r"^(?:@base|BASE)\s+<([^>]*)>", re.IGNORECASE)
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
    origins: dict[URIRef, Origin] = field(default_factory=dict)
    #: every place a subject block starts, to find subjects written twice
    blocks: dict[URIRef, list[Origin]] = field(default_factory=dict)
    prefixes: dict[Path, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: :func:`fingerprint` of vocab/ taken before the files were read (see :func:`hand_on`)
    stamp: tuple = ()
    _lines: dict[Path, list[str]] = field(default_factory=dict)
    _graph: Graph = field(default_factory=Graph)
    _shapes: Graph = field(default_factory=Graph)
    #: Parsed triples not yet in the rdflib graphs: ``(to the shapes?, triples, prefixes)``.
    _pending: list[tuple[bool, list, dict[str, str]]] = field(default_factory=list)

    @property
    def graph(self) -> Graph:
        """Ontology + concepts + data: what is validated, compiled and exported.

        The files are parsed (and their syntax checked) by :func:`load`; their
        triples become an rdflib graph the first time one is asked for. A
        rebuild that finds nothing changed never asks, and validation asks
        only when it has found something to report (seconds at thousands of
        entities)."""
        self._materialise(shapes=False)
        return self._graph

    @property
    def shapes(self) -> Graph:
        self._materialise(shapes=True)
        return self._shapes

    def parsed(self, shapes: bool) -> list | None:
        """The parsed triples (pyoxigraph terms) of the data files, or of the
        shapes, while they are not yet an rdflib graph; None once they are."""
        if any(to_shapes == shapes for to_shapes, _, _ in self._pending):
            return [t for to_shapes, triples, _ in self._pending if to_shapes == shapes for t in triples]
        graph = self._shapes if shapes else self._graph
        return None if len(graph) else []

    def _materialise(self, shapes: bool) -> None:
        pending = [entry for entry in self._pending if entry[0] == shapes]
        if not pending:
            return
        self._pending = [entry for entry in self._pending if entry[0] != shapes]
        for to_shapes, triples, prefixes in pending:
            target = self._shapes if to_shapes else self._graph
            target.addN((s, p, o, target) for s, p, o in to_rdflib(triples))
            for prefix, namespace in prefixes.items():
                if ":" in namespace:  # a relative one would need the base
                    target.bind(prefix, namespace)

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

    def owner(self, node):
        """The subject whose block ``node`` is written in (itself for an IRI)."""
        seen = set()
        while isinstance(node, BNode) and node not in seen:
            seen.add(node)
            parents = list(self.graph.subjects(None, node)) or list(self.shapes.subjects(None, node))
            if not parents:
                return node
            node = parents[0]
        return node

    def locate(self, node, *terms) -> tuple[Path | None, int | None]:
        """File and line of ``node``'s block, narrowed to the first line
        that mentions one of ``terms`` (IRIs), if any does. A subject written
        in several blocks (a duplicate) is looked for in each of them."""
        origin = self.origin(node)
        if origin is None:
            return self.search(node, *terms)
        blocks = self.blocks.get(self.owner(node)) or [origin]
        for block in blocks:
            lines = self._lines.get(block.path, [])
            spellings = [s for term in terms if term is not None for s in self.spellings(block.path, term)]
            for number in range(block.line, block.end_line + 1):
                text = lines[number - 1] if number - 1 < len(lines) else ""
                if any(re.search(re.escape(s) + r"(?![\w-])", text) for s in spellings):
                    return block.path, number
        return origin.path, origin.line

    def search(self, node, *terms) -> tuple[Path | None, int | None]:
        """Where a node without a subject block (a blank node written as a
        subject, ``[ … ] .`` or ``_:x``) is written: the first line holding
        one of its literal values, else one of its IRI values."""
        top = self.owner(node)
        graph = self.graph if (top, None, None) in self.graph else self.shapes
        literals = [f'"{o}"' for o in graph.objects(top, None) if isinstance(o, rdflib.Literal) and str(o)]
        iris = [o for o in graph.objects(top, None) if isinstance(o, URIRef)]
        for wanted in (literals, iris):
            for path, lines in self._lines.items():
                forms = wanted if wanted is literals else [s for o in wanted for s in self.spellings(path, o)]
                for number, text in enumerate(lines, start=1):
                    if any(form in text for form in forms):
                        return path, number
        return None, None

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


#: A Turtle or query file larger than this is refused (a 16 MiB literal
#: makes the parsers slow and is never meant).
MAX_FILE_BYTES = 16 * 1024 * 1024


def vocab_files(project: Project) -> list[Path]:
    return sorted(p for p in project.vocab_dir.rglob("*.ttl") if p.is_file())


def file_problem(project: Project, path: Path, what: str = "Turtle") -> Problem | None:
    """Why a file named ``*.ttl``/``*.rq`` below ``vocab/`` cannot be read:
    not a regular file, a link out of the repository, unreadable, too large
    or not UTF-8. ``None`` when it can be read."""
    try:  # the link's own name, not its target's
        rel = path.relative_to(project.root).as_posix()
    except ValueError:
        rel = project.rel(path)

    def problem(line: int, message: str) -> Problem:
        return Problem(rel, line, None, message, code="file")

    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return problem(1, f"is a broken symbolic link (to {os.readlink(path)}); remove it or restore its target")
        root = project.root.resolve()
        if root not in target.parents:
            return problem(1, f"is a symbolic link to {target}, outside the repository; copy the file in instead")
    if path.is_dir():
        return problem(1, f"is a folder, not a {what} file; rename it")
    if not path.is_file():
        return problem(1, f"is not a regular file; a {what} file is expected")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return problem(1, f"is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} (16 MiB); split it")
        data = path.read_bytes()
    except OSError as exc:
        return problem(1, f"cannot be read: {exc.strerror or exc}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return problem(
            line,
            f"is not UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); save the file as UTF-8",
        )
    return None


def candidate_files(project: Project) -> list[Path]:
    """Everything below ``vocab/`` named ``*.ttl`` or ``*.rq``, files or not."""
    if not project.vocab_dir.is_dir():
        return []
    return sorted(p for p in project.vocab_dir.rglob("*") if p.suffix in (".ttl", ".rq"))


def check_files(project: Project) -> list[Problem]:
    """File-level problems of every ``*.ttl``/``*.rq`` below ``vocab/``, without parsing."""
    problems = []
    for path in candidate_files(project):
        found = file_problem(project, path, "Turtle" if path.suffix == ".ttl" else "SPARQL")
        if found:
            problems.append(found)
    return problems


def _ends_statement(line: str) -> bool:
    """Whether a (stripped, non-comment) line ends a Turtle statement."""
    code = re.sub(r"""\s#[^"'>]*$""", "", line).rstrip()
    return code.endswith(".") and not code.endswith("..")


def scan_blocks(lines: list[str], prefixes: dict[str, str], base_iri: str | None = None) -> list[tuple[str, int, int]]:
    """Find subject blocks: (IRI, first line, last line), 1-based.

    A block starts where a line begins (column 0, or indented after the end of
    a statement) with an IRI or a prefixed name, and ends before the next such
    line. Relative IRIs are resolved against ``@base`` or ``base_iri``.
    """
    starts: list[tuple[str, int]] = []
    base = base_iri
    at_start = True  # the previous statement ended with "."
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        was_start = at_start
        at_start = _ends_statement(stripped)
        directive = BASE_RE.match(stripped)
        if directive:
            base = urljoin(base, directive.group(1)) if base else directive.group(1)
            continue
        if stripped[0] == "@" or stripped.upper().startswith(("PREFIX", "BASE")):
            continue
        # The subject at the start of a line, or indented where a statement starts.
        if text[0] in " \t" and not was_start:
            continue
        match = SUBJECT_RE.match(stripped)
        if not match:
            continue
        token = match.group(1)
        if token.startswith("<"):
            iri = urljoin(base, token[1:-1]) if base else token[1:-1]
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


def syntax_problem(project: Project, path: Path, exc: Exception, lines: list[str] | None = None) -> Problem:
    """Turn a parser exception into a ``path:line`` problem. An error at the
    end of the text (an unclosed bracket) is placed on its last line."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    match = re.search(r"line (\d+)", message)
    if line is None and match:
        line = int(match.group(1))
    if line and lines is not None:
        while line > 1 and (line > len(lines) or not lines[line - 1].strip()):
            line -= 1
    message = re.sub(r"\s*\([^()]*, line \d+\)\s*$", "", message)
    return Problem(project.rel(path), line or 1, None, f"Turtle syntax error: {message}", code="syntax")


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(quads) -> list[tuple]:
    """pyoxigraph's triples of one file as rdflib terms: one blank node per
    label within the file (as rdflib's own parser gives), literals with
    their lexical form, language and datatype as written."""
    blanks: dict[str, BNode] = {}
    iris: dict[str, URIRef] = {}

    def term(value):
        if isinstance(value, pyoxigraph.NamedNode):
            iri = iris.get(value.value)
            if iri is None:
                iri = iris[value.value] = URIRef(value.value)
            return iri
        if isinstance(value, pyoxigraph.BlankNode):
            blank = blanks.get(value.value)
            if blank is None:
                blank = blanks[value.value] = BNode()
            return blank
        if value.language:
            return rdflib.Literal(value.value, lang=value.language)
        datatype = value.datatype.value
        if datatype == XSD_STRING:
            return rdflib.Literal(value.value)
        return rdflib.Literal(value.value, datatype=term(value.datatype))

    return [(term(q.subject), term(q.predicate), term(q.object)) for q in quads]


def load(project: Project) -> Vocab:
    """Parse every Turtle file below ``vocab/``.

    A file with a syntax error is reported and skipped; the others load.
    """
    rdflib.NORMALIZE_LITERALS = False  # keep lexical forms as written
    # rdflib logs a traceback for every literal that is not a valid value of
    # its datatype; validation reports those at their line instead.
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    vocab = Vocab(project=project, stamp=fingerprint(project))
    shapes_dir = project.vocab_dir / ROLE_DIRS["shapes"]
    for path in candidate_files(project):
        if path.suffix != ".ttl":
            continue
        found = file_problem(project, path)
        if found:
            vocab.problems.append(found)
            continue
        vocab.files.append(path)
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        vocab._lines[path] = lines
        # One parse, by pyoxigraph (its messages carry line and column); its
        # terms are handed to rdflib as they are (lexical forms as written).
        try:
            # blank-node labels made unique, as a store makes them: files can share a label
            triples = list(
                pyoxigraph.parse(
                    text, format=pyoxigraph.RdfFormat.TURTLE, base_iri=project.base_iri, rename_blank_nodes=True
                )
            )
        except SyntaxError as exc:
            vocab.problems.append(syntax_problem(project, path, exc, lines))
            continue
        prefixes = {}
        for line in lines:
            match = PREFIX_RE.match(line)
            if match:
                prefixes[match.group(1) or ""] = match.group(2)
        vocab.prefixes[path] = prefixes
        vocab._pending.append((shapes_dir in path.parents, triples, prefixes))
        for iri, start, end in scan_blocks(lines, prefixes, project.base_iri):
            origin = Origin(path, start, end)
            node = URIRef(iri)
            vocab.blocks.setdefault(node, []).append(origin)
            vocab.origins.setdefault(node, origin)
    return vocab


# ------------------------------------------------------------ one load per build
#: The vocabulary a command has just loaded and validated, handed on to the
#: Sphinx build it starts (in the same process), so that the files are read
#: once per build. Keyed by the project's root; kept only while no file below
#: vocab/ has changed since (their names, sizes and modification times).
_HANDED_ON: dict[str, tuple[tuple, Vocab]] = {}


def fingerprint(project: Project) -> tuple:
    entries = []
    for path in candidate_files(project):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def hand_on(vocab: Vocab) -> None:
    """Keep ``vocab`` for the next :func:`take_over` of the same project.

    It is kept with the fingerprint taken before its files were read, so a
    vocabulary handed on again after a long job (the next course pack built in
    the same process) is still refused if a file changed since it was read."""
    _HANDED_ON.clear()
    _HANDED_ON[str(vocab.project.root.resolve())] = (vocab.stamp or fingerprint(vocab.project), vocab)


def take_over(project: Project) -> Vocab | None:
    """The vocabulary handed on for ``project`` if its files are unchanged
    (then it is no longer kept), else None: load it."""
    kept = _HANDED_ON.pop(str(project.root.resolve()), None)
    if kept is None or kept[0] != fingerprint(project):
        return None
    return kept[1]
