"""SPARQL over the graph with the embedded engine (pyoxigraph).

Queries live in ``vocab/queries/NAME.rq``, with header comments
``# title:``, ``# title-de:`` and ``# description:``; the expected answer of
each is ``NAME.csv`` (checked by the tests).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store

from ..config import Project


class QueryError(Exception):
    """A query that cannot be found or run (a user mistake, not a crash)."""


@dataclass(frozen=True)
class Query:
    name: str
    path: Path
    title: str
    title_de: str
    description: str
    text: str


def queries_dir(project: Project) -> Path:
    return project.vocab_dir / "queries"


def parse_query_file(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    meta = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    return Query(
        name=path.stem,
        path=path,
        title=meta.get("title", path.stem),
        title_de=meta.get("title-de", ""),
        description=meta.get("description", ""),
        text=text.strip(),
    )


def load_queries(project: Project) -> list[Query]:
    folder = queries_dir(project)
    return [parse_query_file(p) for p in sorted(folder.glob("*.rq"))] if folder.is_dir() else []


def resolve_query(project: Project, arg: str) -> str:
    """The query text for a file path, a query name, or literal SPARQL."""
    candidate = Path(arg)
    named = queries_dir(project) / f"{arg}.rq"
    if arg.endswith(".rq"):
        path = candidate if candidate.is_absolute() else (Path.cwd() / candidate)
        if not path.is_file():
            path = project.root / candidate
        if not path.is_file():
            raise QueryError(f"no query file {arg}")
        return path.read_text(encoding="utf-8")
    if "/" not in arg and " " not in arg and named.is_file():
        return named.read_text(encoding="utf-8")
    if any(word in arg.upper() for word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")):
        return arg
    raise QueryError(f"{arg!r} is neither a .rq file, a query name in vocab/queries/, nor SPARQL text")


# ------------------------------------------------------------- SERVICE
#: A SPARQL query, cut into the pieces that can hide the word SERVICE without
#: it being the keyword: comments, strings (long and short), IRIs, variables
#: and prefixed names. A bare word is the only piece that can be the keyword.
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
             | '''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)
             | "(?:[^"\\\n\r]|\\.)*(?:"|$)
             | '(?:[^'\\\n\r]|\\.)*(?:'|$))
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][^\s(){}\[\],;.<>=!|&+*/^"'#]*)
  | (?P<word>[^\s(){}\[\],;<>=!|&+*/^"'#?$]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape(text: str) -> str:
    """SPARQL's codepoint escapes (``\\u0053``), which the grammar allows anywhere."""

    def one(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)

    return _ESCAPE.sub(one, text)


def _service_line(text: str) -> int | None:
    for match in _TOKEN.finditer(text):
        word = match.group("word")
        if word is not None and word.rstrip(".").lower() == "service":
            return text.count("\n", 0, match.start()) + 1
    return None


def find_service(text: str) -> int | None:
    """The line (1-based) of the first ``SERVICE`` keyword in a SPARQL query, or ``None``.

    ``SERVICE`` (federated query) makes the engine fetch a URL that the query
    names; neither ``citydiplo query`` nor ``citydiplo serve`` ever does. The
    keyword is found in any letter case and before any endpoint (IRI,
    prefixed name or variable); the word in a comment, a string, an IRI, a
    variable or a prefixed name does not count. The query is also checked
    with its codepoint escapes decoded, so ``\\u0053ERVICE`` is caught too.
    """
    line = _service_line(text)
    if line is None and "\\" in text:
        line = _service_line(_unescape(text))
    return line


def check_no_service(text: str) -> None:
    """Raise :class:`QueryError` if the query uses ``SERVICE``."""
    line = find_service(text)
    if line is not None:
        raise QueryError(
            f"line {line}: SERVICE (federated query) is not allowed: "
            "the query may only read this graph, never fetch another endpoint"
        )


def content_files(project: Project) -> list[Path]:
    """The Turtle files of the published graph (everything but the shapes)."""
    shapes = project.vocab_dir / "shapes"
    return sorted(p for p in project.vocab_dir.rglob("*.ttl") if shapes not in p.parents)


def make_store(project: Project, files: list[Path] | None = None, graph=None) -> Store:
    """An in-memory store with exactly the published graph in the default
    graph: the triples of the dump, its dataset description included (so a
    query can cite the dataset, its version and licence). ``graph``: see
    :func:`~citydiplo.graph.export.published`."""
    from .export import ExportError, published  # export builds on this module

    try:
        triples = published(project, files, graph).triples
    except ExportError as exc:
        raise QueryError(f"cannot load: {exc}") from None
    store = Store()
    store.extend(Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples)
    return store


def run_query(project: Project, text: str, store: Store | None = None) -> tuple[list[str], list[list]]:
    """Run a SELECT (or ASK) query; returns variable names and rows of terms."""
    check_no_service(text)
    store = store or make_store(project)
    try:
        result = store.query(text)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from None
    if isinstance(result, bool):
        return ["result"], [[Literal("true" if result else "false")]]
    if not isinstance(result, pyoxigraph.QuerySolutions):
        raise QueryError("only SELECT and ASK queries can be shown as a table")
    variables = [v.value for v in result.variables]
    rows = [[solution[v] for v in variables] for solution in result]
    return variables, rows


def term_text(term) -> str:
    """A plain-text form for CSV and tables: IRIs in full, literals as text."""
    if term is None:
        return ""
    if isinstance(term, NamedNode | BlankNode):
        return term.value if isinstance(term, NamedNode) else f"_:{term.value}"
    if isinstance(term, Literal):
        return term.value
    return str(term)


def to_csv(variables: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow([term_text(t) for t in row])
    return out.getvalue()


def format_results(variables: list[str], rows: list[list], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(variables, rows)
    if fmt == "json":
        return (
            json.dumps([{v: term_text(t) for v, t in zip(variables, row, strict=True)} for row in rows], indent=2)
            + "\n"
        )
    cells = [[term_text(t) for t in row] for row in rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(variables, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
