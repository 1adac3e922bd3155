"""Validate the loaded vocabulary: prefixes, references, duplicates, SHACL, staleness.

Every finding is a :class:`~citydiplo.problems.Problem` with the file and line
of the entity it concerns, so an editor can jump straight to it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Iterable

import pyoxigraph
import rdflib
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD

from .. import background
from ..config import Project
from ..paths import slug_problem, term_problem
from ..problems import ERROR, NOTICE, Problem
from .load import ROLE_DIRS, Vocab, candidate_files, file_problem, fingerprint, to_rdflib
from .views import today as build_date

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
    owner = vocab.owner(node) if isinstance(node, BNode) else node
    return Problem(
        vocab.project.rel(path) if path else "vocab",
        line or 0,
        short(vocab, owner),
        message,
        code=code,
        severity=severity,
    )


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


def ontology_terms(vocab: Vocab) -> set[URIRef]:
    """The ``cd:`` terms that may be used: typed subjects written in
    ``vocab/ontology/``, and the shapes (typed subjects of ``vocab/shapes/``)."""
    project = vocab.project
    ontology_dir = project.vocab_dir / ROLE_DIRS["ontology"]
    terms = {s for s in vocab.shapes.subjects(RDF.type, None) if isinstance(s, URIRef)}
    for subject in vocab.graph.subjects(RDF.type, None):
        if not isinstance(subject, URIRef) or not str(subject).startswith(project.def_ns):
            continue
        if any(ontology_dir in origin.path.parents for origin in vocab.blocks.get(subject, [])):
            terms.add(subject)
    return terms


VERSION_RE = re.compile(r"^\d+(?:\.\d+)*$")


def iri_problem(vocab: Vocab, term: URIRef) -> str | None:
    """Why an IRI below the base IRI is malformed: not under ``id/`` or
    ``def/``, or with a slug or term name that is not a safe file name."""
    project = vocab.project
    text = str(term)
    if text in (project.ontology_iri, project.def_ns, ontology_version_iri(project)):
        return None
    if text.startswith(project.id_ns):
        why = slug_problem(text[len(project.id_ns) :])
        return f"<{text}>: {why}" if why else None
    if text.startswith(project.def_ns):
        name = text[len(project.def_ns) :]
        why = None if VERSION_RE.match(name) else term_problem(name)
        return f"<{text}>: {why}" if why else None
    return (
        f"<{text}> is below the base IRI <{project.base_iri}> but not under id/ (things) or def/ (terms); "
        "write things as cdi:slug and terms as cd:Name"
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean cd:{close[0]}?" if close else ""


def check_references(vocab: Vocab) -> list[Problem]:
    """Every project IRI is well formed; every ``cd:`` term used is defined in
    ``vocab/ontology/`` (with a did-you-mean); every ``cdi:`` thing used as a
    predicate or object is defined somewhere."""
    project = vocab.project
    defined = defined_terms(vocab)
    terms = ontology_terms(vocab)
    names = {str(t)[len(project.def_ns) :] for t in terms if str(t).startswith(project.def_ns)}
    problems = []
    seen = set()

    def report(subject, term, message, code):
        key = (subject, term, code)
        if key not in seen:
            seen.add(key)
            problems.append(problem_at(vocab, subject, message, term, code=code))

    for subject, cls in vocab.graph.subject_objects(RDF.type):
        if (
            isinstance(subject, URIRef)
            and str(cls).startswith(project.def_ns)
            and not str(subject).startswith(project.base_iri)
        ):
            report(
                subject,
                cls,
                f"<{subject}> is typed {short(vocab, cls)} but is outside <{project.id_ns}>; "
                "a thing described here gets an IRI cdi:slug (link other IRIs with owl:sameAs)",
                "iri",
            )
    for graph in (vocab.graph, vocab.shapes):
        for subject, predicate, obj in graph:
            for position, term in enumerate((subject, predicate, obj)):
                if not isinstance(term, URIRef) or not str(term).startswith(project.base_iri):
                    continue
                why = iri_problem(vocab, term)
                if why:
                    report(subject, term, why, "iri")
                    continue
                text = str(term)
                if text in (project.ontology_iri, project.def_ns, ontology_version_iri(project)) or (
                    text.startswith(project.def_ns) and VERSION_RE.match(text[len(project.def_ns) :])
                ):
                    continue
                if text.startswith(project.def_ns):
                    if term in terms:
                        continue
                    name = text[len(project.def_ns) :]
                    where = "is not defined in vocab/ontology/"
                    if position == 0 and term in defined:
                        where = "is defined outside vocab/ontology/; terms are defined there only"
                    report(subject, term, f"{short(vocab, term)} {where}{did_you_mean(name, names)}", "term")
                    continue
                if position == 0 or term in defined:
                    continue
                report(
                    subject,
                    term,
                    f"refers to {short(vocab, term)}, but no entity with that IRI is defined in vocab/",
                    "reference",
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
        places = ", ".join(f"{project.rel(o.path)}:{o.line}" for o in origins[1:])
        problems.append(
            Problem(
                project.rel(first.path),
                first.line,
                short(vocab, node),
                f"is written again at {places}; keep one subject block per entity",
                code="duplicate",
            )
        )
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


_TZ = r"(?:Z|[+-]\d{2}:\d{2})?"
#: Lexical forms of the datatypes rdflib does not check itself.
LEXICAL = {
    XSD.gYear: re.compile(rf"^-?\d{{4,}}{_TZ}$"),
    XSD.gYearMonth: re.compile(rf"^-?\d{{4,}}-(?:0[1-9]|1[0-2]){_TZ}$"),
}


def _bad_literal(value: Literal) -> bool:
    if value.datatype in LEXICAL:
        return not LEXICAL[value.datatype].match(str(value))
    return bool(getattr(value, "ill_typed", False))


def ill_typed(vocab: Vocab) -> list[tuple]:
    """Triples whose literal is not a valid value of its datatype
    (``"2024-13-45"^^xsd:date``, ``"soon"^^xsd:gYear``)."""
    return [(s, p, o) for s, p, o in vocab.graph if isinstance(o, Literal) and o.datatype and _bad_literal(o)]


def check_literals(vocab: Vocab) -> list[Problem]:
    """A typed literal must be a valid value of its type (before SHACL, which
    cannot compare an invalid date with another)."""
    return [
        problem_at(
            vocab,
            s,
            f"{_curie(vocab, p)}: {_show(vocab, o)} is not a valid {_curie(vocab, o.datatype)}",
            p,
            code="datatype",
        )
        for s, p, o in ill_typed(vocab)
    ]


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
    import pyshacl  # the reference engine: imported only when used (≈ 0.15 s)

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
    """The data graph as a pyoxigraph store (the fast engine reads a store
    natively; an rdflib graph it first serialises): the triples as parsed,
    or, once there is an rdflib graph (which its holder may have changed),
    that graph's."""
    store = pyoxigraph.Store()
    parsed = vocab.parsed(shapes=False)
    if parsed is not None:
        store.extend(parsed)
    else:
        store.extend(pyoxigraph.Quad(*_oxi_terms(triple)) for triple in vocab.graph)
    return store


def shacl_report(vocab: Vocab, engine: str | None = None):
    """The SHACL report, worded as pySHACL words it.

    The fast engine decides whether there is anything to report; where there
    is, pySHACL writes the report, because the two engines word the messages
    of shapes without ``sh:message`` differently (``tests/test_shacl_engines.py``
    checks that they find the same results)."""
    if shacl_engine(engine).__name__ != "pyshacl":
        report = run_shacl(fast_data(vocab), vocab.shapes, engine)
        if (None, RDF.type, SH.ValidationResult) not in report:
            return report
    return run_shacl(vocab.graph, vocab.shapes, "pyshacl")


def fast_shacl_clean(project: Project, engine: str | None = None) -> tuple[tuple, bool]:
    """Whether the fast engine finds nothing to report in the files below
    ``vocab/`` as they are on disk (run in a fork by :func:`start_shacl`, so
    it reads them itself: it may start before :func:`~.load.load`), with the
    :func:`~.load.fingerprint` of the files taken before reading them. A file
    that cannot be read is left out; :func:`validate` then does not trust
    this verdict, nor when the fingerprint is not that of the loaded files."""
    stamp = fingerprint(project)
    store, shapes = pyoxigraph.Store(), Graph()
    shapes_dir = project.vocab_dir / ROLE_DIRS["shapes"]
    for path in candidate_files(project):
        if path.suffix != ".ttl" or file_problem(project, path):
            continue
        try:
            if shapes_dir in path.parents:
                triples = to_rdflib(pyoxigraph.parse(path=str(path), format=TURTLE, base_iri=project.base_iri))
                shapes.addN((s, p, o, shapes) for s, p, o in triples)
            else:
                store.load(path=str(path), format=TURTLE, base_iri=project.base_iri)
        except SyntaxError:
            continue
    if len(shapes) == 0:
        return stamp, True
    report = run_shacl(store, shapes, engine)
    return stamp, (None, RDF.type, SH.ValidationResult) not in report


def start_shacl(project: Project):
    """The fast SHACL engine's verdict on ``vocab/``, started in a fork, for
    :func:`validate`; None where a fork does not help (one core, no fast
    engine, the reference engine asked for)."""
    if not background.available() or shacl_engine().__name__ == "pyshacl":
        return None
    return background.Forked(fast_shacl_clean, project)


def check_shacl(vocab: Vocab, engine: str | None = None) -> list[Problem]:
    """Run SHACL and map each result to the file and line of its focus node.

    Invalid literals (reported by :func:`check_literals`) are left out of the
    data SHACL sees, and then the reference engine runs: pySHACL fails on
    comparing them, and the fast engine reads the files as they are."""
    if len(vocab.shapes) == 0:
        return []
    bad = ill_typed(vocab)
    try:
        if bad:
            data = Graph()
            for triple in vocab.graph:
                data.add(triple)
            for triple in bad:
                data.remove(triple)
            report = run_shacl(data, vocab.shapes, "pyshacl")
        else:
            report = shacl_report(vocab, engine)
    except (TypeError, ValueError) as exc:  # an engine comparing values it cannot compare
        return [Problem(vocab.project.rel(vocab.project.vocab_dir), 0, None, f"SHACL validation stopped: {exc}")]
    return _shacl_problems(vocab, report)


def _shacl_problems(vocab: Vocab, report) -> list[Problem]:
    """Each SHACL result as a problem at its focus node's place."""
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
        terms = [path] if isinstance(path, URIRef) else [None]
        if isinstance(focus, BNode) and isinstance(path, URIRef) and (focus, path, None) not in vocab.graph:
            # a value missing from a blank node (an access option, a membership): point at
            # the property that holds that node, not at the owner's own value of ``path``
            terms = sorted(set(vocab.graph.predicates(None, focus))) or terms
        problems.append(problem_at(vocab, focus, f"{prop}{message}{detail}", *terms, code="shacl", severity=severity))
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
    today = today or build_date()
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


SPARQL_ERROR_RE = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
#: comments, strings and IRIs, which may spell SERVICE without meaning it
SPARQL_NOISE_RE = re.compile(r"#[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|<[^<>\s]*>")


def check_queries(vocab: Vocab) -> list[Problem]:
    """Every ``vocab/**/*.rq`` is readable UTF-8 SPARQL that runs on the local
    graph only (no ``SERVICE``); errors at the ``.rq`` file's line."""
    from pyoxigraph import Store

    project = vocab.project
    store = Store()  # empty: a syntax check, never a real evaluation
    problems = []
    for path in candidate_files(project):
        if path.suffix != ".rq":
            continue
        found = file_problem(project, path, "SPARQL")
        if found:
            problems.append(found)
            continue
        text = path.read_text(encoding="utf-8")
        code = SPARQL_NOISE_RE.sub(lambda m: " " * len(m.group(0)), text)
        service = re.search(r"\bSERVICE\b", code, re.I)
        if service:
            line = text.count("\n", 0, service.start()) + 1
            problems.append(
                Problem(
                    project.rel(path),
                    line,
                    None,
                    "SERVICE is not allowed: the handbook's queries run on the local graph only",
                    code="query",
                )
            )
            continue
        try:
            result = store.query(text)
            if not isinstance(result, bool):
                for _ in result:
                    pass
        except SyntaxError as exc:
            match = SPARQL_ERROR_RE.match(str(exc))
            line, column, message = (int(match[1]), int(match[2]), match[3]) if match else (1, 1, str(exc))
            lines = text.splitlines()
            while line > 1 and (line > len(lines) or not lines[line - 1].strip()):
                line, column = line - 1, 1  # the end of the text: its last line
            message = " ".join(message.split())
            message = message if len(message) <= 160 else message[:157] + "…"
            problems.append(
                Problem(
                    project.rel(path), line, None, f"SPARQL syntax error at column {column}: {message}", code="query"
                )
            )
    return problems


def ontology_version_iri(project) -> str:
    """The ontology's ``owl:versionIRI``: its file in this release's kept folder
    (``dist/<version>/citydiplo.ttl``, the dump that holds the ontology)."""
    return f"{project.base_iri}dist/{project.version}/citydiplo.ttl"


def check_version(vocab: Vocab) -> list[Problem]:
    """The ontology header names the version set in the configuration
    (``[project] version``): ``owl:versionInfo`` and an ``owl:versionIRI`` that
    resolves (this release's dump folder), so that a release cannot forget them."""
    project, graph = vocab.project, vocab.graph
    OWL = "http://www.w3.org/2002/07/owl#"
    ontology = URIRef(project.ontology_iri)
    if (ontology, RDF.type, URIRef(OWL + "Ontology")) not in graph:
        return []
    problems = []
    want = {
        URIRef(OWL + "versionInfo"): Literal(project.version),
        URIRef(OWL + "versionIRI"): URIRef(ontology_version_iri(project)),
    }
    for prop, value in want.items():
        found = sorted(graph.objects(ontology, prop), key=str)
        if found != [value]:
            shown = ", ".join(str(v) for v in found) or "nothing"
            problems.append(
                problem_at(
                    vocab,
                    ontology,
                    f"{_curie(vocab, prop)}: must be {value.n3()} for version {project.version} "
                    f"(conf/citydiplo.toml [project] version), found {shown}",
                    prop,
                    code="version",
                )
            )
    return problems


def validate(vocab: Vocab, today: dt.date | None = None, shacl=None, meanwhile=None) -> list[Problem]:
    """All problems, errors and notices, sorted by file and line.

    Fast when the data is clean, which it is on almost every run: the fast
    SHACL engine runs in a fork (on the second core; ``shacl`` is one begun
    by :func:`start_shacl` before the files were loaded, else one begins
    here) while this process asks of the parsed triples whether each other
    check has anything to report (:class:`Quick`). Only a check that has runs
    on the rdflib graph and words the problems, so the messages are the same
    on either path (tested on the bad-input corpus).

    ``meanwhile()``, if given, is run while the fork's verdict is awaited (a
    build makes its rdflib graph then, which it needs next)."""
    shacl = shacl if shacl is not None else start_shacl(vocab.project)
    try:
        problems: list[Problem] = list(vocab.problems)
        problems += check_prefixes(vocab)
        problems += check_duplicates(vocab)
        problems += check_queries(vocab)
        quick = Quick.of(vocab, today)
        literals_ok = True
        for check, clean in (
            (check_version, quick and quick.version_clean),
            (check_references, quick and quick.references_clean),
            (check_literals, quick and quick.literals_clean),
            (lambda v: check_staleness(v, today), quick and quick.staleness_clean),
        ):
            if not (clean and clean()):
                found = check(vocab)
                problems += found
                literals_ok = literals_ok and not (check is check_literals and found)
        if meanwhile is not None:
            meanwhile()
    except BaseException:
        if shacl is not None:
            shacl.cancel()
        raise
    if shacl is None:
        problems += check_shacl(vocab)
        return sorted(set(problems))
    try:
        stamp, clean = shacl.result()
    except Exception:  # the engine stopped (values it cannot compare), a file vanished …
        stamp, clean = None, False  # … the check runs here, and reports what there is to report
    # The fork read the files; its verdict stands for the loaded data only if
    # it read the same files (their fingerprint), every file loaded, the data
    # is still as parsed (no rdflib graph yet that someone could have
    # changed), and no literal is invalid (the reference engine then runs on
    # the data without it).
    trusted = clean and stamp == vocab.stamp and quick is not None and literals_ok and not vocab.problems
    problems += [] if trusted else check_shacl(vocab)
    return sorted(set(problems))


def validate_exact(vocab: Vocab, today: dt.date | None = None) -> list[Problem]:
    """What :func:`validate` finds, found the plain way: every check on the
    rdflib graph, SHACL in this process (the reference its fast path is tested against)."""
    problems: list[Problem] = list(vocab.problems)
    for check in (check_prefixes, check_version, check_duplicates, check_references, check_literals, check_queries):
        problems += check(vocab)
    problems += check_shacl(vocab)
    problems += check_staleness(vocab, today)
    return sorted(set(problems))


class Quick:
    """Whether each check has anything to report, asked of the parsed triples
    (pyoxigraph terms) before they become an rdflib graph: at 5,000 entities
    that graph costs ≈ 2 s and the checks on it ≈ 3 s more, the questions
    here ≈ 0.3 s. A question answered "clean" must be clean by the check's own
    rules; any doubt answers "not clean", and the check then runs."""

    def __init__(self, vocab: Vocab, data: list, shapes: list, today: dt.date | None):
        self.vocab, self.data, self.shapes, self.today = vocab, data, shapes, today

    @classmethod
    def of(cls, vocab: Vocab, today: dt.date | None = None) -> Quick | None:
        data, shapes = vocab.parsed(shapes=False), vocab.parsed(shapes=True)
        if data is None:
            return None  # already an rdflib graph: the checks themselves are as quick
        if shapes is None:
            shapes = [pyoxigraph.Triple(*_oxi_terms(t)) for t in vocab.shapes]
        return cls(vocab, data, shapes, today)

    def version_clean(self) -> bool:
        """:func:`check_version`: the ontology header, if there is one, names this version."""
        project = self.vocab.project
        ontology = project.ontology_iri
        owl = "http://www.w3.org/2002/07/owl#"
        typed, info, iri = False, [], []
        for t in self.data:
            if t.subject.value != ontology or not isinstance(t.subject, pyoxigraph.NamedNode):
                continue
            predicate, obj = t.predicate.value, t.object
            if predicate == RDF_TYPE and obj.value == owl + "Ontology" and isinstance(obj, pyoxigraph.NamedNode):
                typed = True
            elif predicate == owl + "versionInfo":
                info.append(obj)
            elif predicate == owl + "versionIRI":
                iri.append(obj)
        if not typed:
            return True
        plain = (
            len(info) == 1
            and isinstance(info[0], pyoxigraph.Literal)
            and not info[0].language
            and info[0].datatype.value == XSD_STRING
            and info[0].value == project.version
        )
        version_iri = ontology_version_iri(project)
        named = len(iri) == 1 and isinstance(iri[0], pyoxigraph.NamedNode) and iri[0].value == version_iri
        return plain and named

    def references_clean(self) -> bool:
        """:func:`check_references`: every project IRI well formed, every term
        defined in vocab/ontology/, every thing referred to defined."""
        project = self.vocab.project
        base, def_ns = project.base_iri, project.def_ns
        named = pyoxigraph.NamedNode
        ontology_dir = project.vocab_dir / ROLE_DIRS["ontology"]
        in_ontology = {
            str(node)
            for node, origins in self.vocab.blocks.items()
            if any(ontology_dir in origin.path.parents for origin in origins)
        }
        defined: set[str] = set()
        terms: set[str] = set()
        as_subject: set[str] = set()
        elsewhere: set[str] = set()
        for is_shapes, triples in ((False, self.data), (True, self.shapes)):
            for t in triples:
                subject, predicate, obj = t.subject, t.predicate, t.object
                s_named = isinstance(subject, named)
                if s_named:
                    s = subject.value
                    if s.startswith(base):
                        as_subject.add(s)
                p = predicate.value
                if p == RDF_TYPE and s_named:
                    if s.startswith(base):
                        defined.add(s)
                    if is_shapes or (s.startswith(def_ns) and s in in_ontology):
                        terms.add(s)
                    if not is_shapes and obj.value.startswith(def_ns) and not s.startswith(base):
                        return False  # a thing typed cd:… outside cdi:
                if p.startswith(base):
                    elsewhere.add(p)
                if isinstance(obj, named) and obj.value.startswith(base):
                    elsewhere.add(obj.value)
        special = {project.ontology_iri, def_ns, ontology_version_iri(project)}
        for text in as_subject | elsewhere:
            if iri_problem(self.vocab, text):
                return False
            if text in special:
                continue
            if text.startswith(def_ns):
                if VERSION_RE.match(text[len(def_ns) :]) or text in terms:
                    continue
                return False
        return all(text in defined or text in special for text in elsewhere if not text.startswith(def_ns))

    def literals_clean(self) -> bool:
        """:func:`check_literals`: every typed literal a valid value of its type
        (each distinct value made into the rdflib literal the graph would hold)."""
        seen = set()
        for t in self.data:
            obj = t.object
            if not isinstance(obj, pyoxigraph.Literal) or obj.language:
                continue
            datatype = obj.datatype.value
            if datatype == XSD_STRING:
                continue
            key = (obj.value, datatype)
            if key in seen:
                continue
            seen.add(key)
            if _bad_literal(rdflib.Literal(obj.value, datatype=URIRef(datatype))):
                return False
        return True

    def staleness_clean(self) -> bool:
        """:func:`check_staleness`: no fact checked too long ago, none past its validity."""
        project = self.vocab.project
        today = self.today or build_date()
        limit = today - dt.timedelta(days=project.stale_after_days)
        checked, until = project.def_ns + "lastChecked", project.def_ns + "validUntil"
        for t in self.data:
            predicate = t.predicate.value
            if predicate != checked and predicate != until:
                continue
            if isinstance(t.object, pyoxigraph.BlankNode):
                continue
            try:
                day = dt.date.fromisoformat(t.object.value)
            except ValueError:
                continue
            if day < (limit if predicate == checked else today):
                return False
        return True


RDF_TYPE = str(RDF.type)
TURTLE = pyoxigraph.RdfFormat.TURTLE
XSD_STRING = str(XSD.string)


def _oxi_terms(triple) -> tuple:
    """An rdflib triple's terms as pyoxigraph terms (for a graph that is already rdflib's)."""

    def term(value):
        if isinstance(value, URIRef):
            return pyoxigraph.NamedNode(str(value))
        if isinstance(value, BNode):
            return pyoxigraph.BlankNode(str(value))
        if value.language:
            return pyoxigraph.Literal(str(value), language=value.language)
        return pyoxigraph.Literal(str(value), datatype=pyoxigraph.NamedNode(str(value.datatype or XSD.string)))

    return tuple(term(v) for v in triple)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
