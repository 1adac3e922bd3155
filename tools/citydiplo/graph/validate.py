"""Validate the loaded vocabulary: prefixes, references, duplicates, SHACL, staleness.

Every finding is a :class:`~citydiplo.problems.Problem` with the file and line
of the entity it concerns, so an editor can jump straight to it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable

import pyshacl
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, SH

from ..problems import ERROR, NOTICE, Problem
from .load import ROLE_DIRS, Vocab

SEVERITY = {SH.Violation: ERROR, SH.Warning: ERROR, SH.Info: NOTICE}


def short(vocab: Vocab, node) -> str:
    """``cdi:slug`` / ``cd:Term`` for project IRIs, ``<…>`` otherwise."""
    text = str(node)
    project = vocab.project
    if text.startswith(project.id_ns):
        return "cdi:" + text[len(project.id_ns) :]
    if text.startswith(project.def_ns):
        return "cd:" + text[len(project.def_ns) :]
    if isinstance(node, BNode):
        return "[blank node]"
    return f"<{text}>"


def problem_at(vocab: Vocab, node, message: str, *terms, code: str = "vocab", severity: str = ERROR) -> Problem:
    path, line = vocab.locate(node, *terms)
    owner = node
    if isinstance(node, BNode):
        owner = _owners(vocab).get(vocab.origin(node), node)
    return Problem(
        vocab.project.rel(path) if path else "vocab",
        line or 0,
        short(vocab, owner),
        message,
        code=code,
        severity=severity,
    )


def _owners(vocab: Vocab) -> dict:
    """Each subject block → the first subject written there (built once per vocab)."""
    owners = vocab.__dict__.get("_owners")
    if owners is None:
        owners = {}
        for subject, origin in vocab.origins.items():
            owners.setdefault(origin, subject)
        vocab.__dict__["_owners"] = owners
    return owners


def check_prefixes(vocab: Vocab) -> list[Problem]:
    """Every file spells the project namespaces as ``cd:`` and ``cdi:``."""
    project = vocab.project
    expected = {"cd": project.def_ns, "cdi": project.id_ns}
    problems = []
    for path, prefixes in vocab.prefixes.items():
        lines = vocab._lines[path]
        for prefix, ns in prefixes.items():
            wrong = (prefix in expected and ns != expected[prefix]) or (
                ns in expected.values() and expected.get(prefix) != ns
            )
            if not wrong:
                continue
            line = next(
                (
                    i
                    for i, text in enumerate(lines, 1)
                    if re.match(rf"\s*(@prefix|PREFIX)\s+{re.escape(prefix)}:", text, re.I)
                ),
                1,
            )
            problems.append(
                Problem(
                    project.rel(path),
                    line,
                    None,
                    f"prefix {prefix}: is <{ns}>; this project writes cd: <{project.def_ns}> "
                    f"and cdi: <{project.id_ns}> (set once in conf/citydiplo.toml)",
                    code="prefix",
                )
            )
    return problems


def defined_terms(vocab: Vocab) -> set[URIRef]:
    """Project IRIs that are defined: subjects with a type, in either graph."""
    project = vocab.project
    defined = set()
    for graph in (vocab.graph, vocab.shapes):
        for subject in graph.subjects(RDF.type, None):
            if isinstance(subject, URIRef) and str(subject).startswith(project.base_iri):
                defined.add(subject)
    return defined


def check_references(vocab: Vocab) -> list[Problem]:
    """Every project IRI used as a predicate or object is defined somewhere."""
    project = vocab.project
    defined = defined_terms(vocab)
    problems = []
    seen = set()
    for graph in (vocab.graph, vocab.shapes):
        for subject, predicate, obj in graph:
            for term in (predicate, obj):
                if not isinstance(term, URIRef) or not str(term).startswith(project.base_iri):
                    continue
                if (
                    term in defined
                    or str(term) == project.ontology_iri
                    or str(term).startswith(project.ontology_iri + "/")
                ):
                    continue
                key = (subject, term)
                if key in seen:
                    continue
                seen.add(key)
                kind = "term" if str(term).startswith(project.def_ns) else "entity"
                problems.append(
                    problem_at(
                        vocab,
                        subject,
                        f"refers to {short(vocab, term)}, but no {kind} with that IRI is defined in vocab/",
                        term,
                        code="reference",
                    )
                )
    return problems


def check_duplicates(vocab: Vocab) -> list[Problem]:
    """A fact lives once: an entity is written in one subject block only."""
    project = vocab.project
    problems = []
    for node, origins in vocab.blocks.items():
        if len(origins) < 2 or not str(node).startswith(project.id_ns):
            continue
        first = origins[0]
        for other in origins[1:]:
            problems.append(
                Problem(
                    project.rel(other.path),
                    other.line,
                    short(vocab, node),
                    f"is already written at {project.rel(first.path)}:{first.line}; keep one subject block per entity",
                    code="duplicate",
                )
            )
    return problems


#: SHACL engines: pySHACL is the reference; pyshacl-turbo (a Rust engine with
#: pySHACL's API) finds the same violations ≈ 10× faster and is used when installed.
#: ``CITYDIPLO_SHACL=pyshacl`` forces the reference engine.
SHACL_ENGINES = ("turbo", "pyshacl")


def shacl_engine(name: str | None = None):
    """The module whose ``validate()`` runs SHACL: ``name``, else $CITYDIPLO_SHACL, else the fastest installed."""
    name = name or os.environ.get("CITYDIPLO_SHACL") or ""
    if name not in ("", *SHACL_ENGINES):
        raise ValueError(f"unknown SHACL engine {name!r} (choose from {', '.join(SHACL_ENGINES)})")
    if name in ("", "turbo"):
        try:
            import pyshacl_turbo
        except ImportError:
            if name == "turbo":
                raise
        else:
            return pyshacl_turbo
    return pyshacl


def run_shacl(data, shapes, engine: str | None = None):
    """One engine's raw SHACL report graph of ``data`` against ``shapes``."""
    _conforms, report, _text = shacl_engine(engine).validate(
        data_graph=data,
        shacl_graph=shapes,
        inference="none",
        abort_on_first=False,
        allow_warnings=False,
        advanced=True,
    )
    return report


def fast_data(vocab: Vocab):
    """The data graph as a pyoxigraph store, read from the same files (the fast
    engine reads a store natively; an rdflib graph it first serialises)."""
    import pyoxigraph

    store = pyoxigraph.Store()
    shapes_dir = vocab.project.vocab_dir / ROLE_DIRS["shapes"]
    for path in vocab.prefixes:  # the files that parsed
        if shapes_dir not in path.parents:
            store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, base_iri=vocab.project.base_iri)
    return store


def shacl_report(vocab: Vocab, engine: str | None = None):
    """The SHACL report, worded as pySHACL words it.

    The fast engine decides whether there is anything to report; where there
    is, pySHACL writes the report, because the two engines word the messages
    of shapes without ``sh:message`` differently (``tests/test_shacl_engines.py``
    checks that they find the same results)."""
    if shacl_engine(engine) is not pyshacl:
        report = run_shacl(fast_data(vocab), vocab.shapes, engine)
        if (None, RDF.type, SH.ValidationResult) not in report:
            return report
    return run_shacl(vocab.graph, vocab.shapes, "pyshacl")


def check_shacl(vocab: Vocab, engine: str | None = None) -> list[Problem]:
    """Run SHACL and map each result to the file and line of its focus node."""
    if len(vocab.shapes) == 0:
        return []
    report = shacl_report(vocab, engine)
    problems = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        severity = SEVERITY.get(report.value(result, SH.resultSeverity), ERROR)
        messages = [str(m) for m in report.objects(result, SH.resultMessage)]
        english = [str(m) for m in report.objects(result, SH.resultMessage) if getattr(m, "language", None) == "en"]
        message = (english or messages or ["violates a shape"])[0]
        prop = f"{short(vocab, path)}: " if isinstance(path, URIRef) else ""
        if prop.startswith("<"):
            prop = _curie(vocab, path) + ": "
        detail = f" (value: {_show(vocab, value)})" if value is not None and value != focus else ""
        problems.append(
            problem_at(
                vocab,
                focus,
                f"{prop}{message}{detail}",
                path if isinstance(path, URIRef) else None,
                code="shacl",
                severity=severity,
            )
        )
    return problems


def _curie(vocab: Vocab, iri) -> str:
    for prefixes in vocab.prefixes.values():
        for prefix, ns in prefixes.items():
            if str(iri).startswith(ns) and prefix:
                return f"{prefix}:{str(iri)[len(ns) :]}"
    return f"<{iri}>"


def _show(vocab: Vocab, value) -> str:
    if isinstance(value, Literal):
        text = str(value)
        text = text if len(text) <= 60 else text[:57] + "…"
        suffix = (
            f"@{value.language}" if value.language else (f"^^{_curie(vocab, value.datatype)}" if value.datatype else "")
        )
        return f'"{text}"{suffix}'
    if isinstance(value, URIRef):
        name = short(vocab, value)
        return _curie(vocab, value) if name.startswith("<") else name
    return "[blank node]"


def check_staleness(vocab: Vocab, today: dt.date | None = None) -> list[Problem]:
    """Notices for facts not checked within the configured period, and for
    time-bound facts past their ``cd:validUntil`` date."""
    project = vocab.project
    today = today or dt.date.today()
    cd = project.def_ns
    limit = today - dt.timedelta(days=project.stale_after_days)
    problems = []
    for prop, test, text in (
        (
            URIRef(cd + "lastChecked"),
            lambda d: d < limit,
            f"facts last checked {{}}, more than {project.stale_after_days} days ago",
        ),
        (URIRef(cd + "validUntil"), lambda d: d < today, "time-bound facts were valid until {}; check them again"),
    ):
        for subject, value in vocab.graph.subject_objects(prop):
            try:
                day = dt.date.fromisoformat(str(value))
            except ValueError:
                continue  # a wrong datatype is SHACL's to report
            if test(day):
                problems.append(problem_at(vocab, subject, text.format(day), prop, code="stale", severity=NOTICE))
    return problems


def validate(vocab: Vocab, today: dt.date | None = None) -> list[Problem]:
    """All problems, errors and notices, sorted by file and line."""
    problems: list[Problem] = list(vocab.problems)
    problems += check_prefixes(vocab)
    problems += check_duplicates(vocab)
    problems += check_references(vocab)
    problems += check_shacl(vocab)
    problems += check_staleness(vocab, today)
    return sorted(set(problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
