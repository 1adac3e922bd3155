"""The SPARQL endpoint's engine: a small pool of worker processes, each with
its own read-only copy of the graph, and a time limit per query that really
stops the work.

pyoxigraph cannot cancel a running query from another thread, so a query
runs in a worker process; when it is not answered within the time limit the
worker is killed (the CPU is free at once) and a fresh one takes its place,
while the other workers go on answering. A query waits at most
:data:`QUEUE_WAIT` seconds for a free worker (then 503). Every outcome
is a :class:`SparqlResponse` with a status and a message, never an
exception.

The request itself is checked before it reaches a worker: SPARQL Update is
refused (403) and a query that uses ``SERVICE`` (federated query, which
would make the server fetch a URL the query names) is refused (400), by
:func:`citydiplo.graph.query.find_service`, the check ``citydiplo query``
uses as well. Behind that check, on Linux, each worker moves into its own
user and network namespaces once the graph is loaded, so a query that
reached it anyway could fetch nothing (best effort: where the system does
not allow it, ``QueryPool.wait_ready`` says so and the check alone holds).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import queue
import signal
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pyoxigraph
from pyoxigraph import NamedNode, QueryResultsFormat, RdfFormat, Store

from ..graph.query import find_service
from .negotiation import negotiate

#: Result formats of SELECT and ASK, in the server's order of preference.
SOLUTION_FORMATS = (
    ("application/sparql-results+json", "JSON"),
    ("application/json", "JSON"),
    ("application/sparql-results+xml", "XML"),
    ("text/csv", "CSV"),
    ("text/tab-separated-values", "TSV"),
)
#: Result formats of CONSTRUCT and DESCRIBE.
GRAPH_FORMATS = (
    ("text/turtle", "TURTLE"),
    ("application/n-triples", "N_TRIPLES"),
    ("application/ld+json", "JSON_LD"),
    ("application/rdf+xml", "RDF_XML"),
)
MAX_BODY = 1 << 20
#: The largest result a worker sends back; a larger one asks for a LIMIT.
MAX_RESULT = 64 << 20
#: How long a query may wait for a free worker.
QUEUE_WAIT = 30.0
#: How long a fresh worker may take to load the graph.
START_TIMEOUT = 120.0


@dataclass
class SparqlResponse:
    status: int
    body: bytes
    media: str


def error(status: int, message: str) -> SparqlResponse:
    return SparqlResponse(status, (message.rstrip() + "\n").encode("utf-8"), "text/plain; charset=utf-8")


def refused() -> SparqlResponse:
    return error(HTTPStatus.FORBIDDEN, "this endpoint is read-only: SPARQL Update is not accepted")


@dataclass
class SparqlRequest:
    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]


def parse_request(
    method: str, query_string: str, content_type: str | None, body: bytes
) -> SparqlRequest | SparqlResponse:
    """A SPARQL 1.1 Protocol query request, or the error response to send."""
    params = urllib.parse.parse_qs(query_string, keep_blank_values=True)
    media = (content_type or "").split(";")[0].strip().lower()
    if method == "POST":
        if media == "application/sparql-update":
            return refused()
        if media == "application/x-www-form-urlencoded":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return error(HTTPStatus.BAD_REQUEST, "the form is not UTF-8")
            for key, values in urllib.parse.parse_qs(text, keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        elif media == "application/sparql-query":
            try:
                params.setdefault("query", []).append(body.decode("utf-8"))
            except UnicodeDecodeError:
                return error(HTTPStatus.BAD_REQUEST, "the query is not UTF-8")
        else:
            return error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"unsupported content type {media!r}: send application/sparql-query "
                "or application/x-www-form-urlencoded",
            )
    if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
        return refused()
    queries = params.get("query", [])
    if len(queries) > 1:
        return error(HTTPStatus.BAD_REQUEST, "give exactly one query parameter")
    query = queries[0] if queries else None
    if query is not None:
        line = find_service(query)
        if line is not None:
            return error(
                HTTPStatus.BAD_REQUEST,
                f"line {line}: SERVICE (federated query) is not allowed: "
                "this endpoint answers from its own graph and never fetches another endpoint",
            )
    return SparqlRequest(query, params.get("default-graph-uri", []), params.get("named-graph-uri", []))


# ------------------------------------------------------------- in a worker
def execute(store: Store, query: str, accept: str | None, defaults, named, base_iri) -> tuple[int, bytes, str]:
    """Run one query and serialise its result in the format the client accepts."""
    try:
        kwargs = {}
        if defaults:
            kwargs["default_graph"] = [NamedNode(g) for g in defaults]
        if named:
            kwargs["named_graphs"] = [NamedNode(g) for g in named]
        result = store.query(query, base_iri=base_iri, **kwargs)
        if isinstance(result, pyoxigraph.QueryTriples):
            formats, kinds = GRAPH_FORMATS, RdfFormat
        else:
            formats, kinds = SOLUTION_FORMATS, QueryResultsFormat
        media = negotiate(accept, [m for m, _ in formats])
        if media is None:
            offered = ", ".join(m for m, _ in formats)
            response = error(HTTPStatus.NOT_ACCEPTABLE, f"this result can be sent as: {offered}")
        else:
            body = result.serialize(format=getattr(kinds, dict(formats)[media]))
            if len(body) > MAX_RESULT:
                response = error(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    f"the result is larger than {MAX_RESULT >> 20} MiB: ask for less (add a LIMIT)",
                )
            else:
                charset = "; charset=utf-8" if media.startswith("text/") else ""
                response = SparqlResponse(HTTPStatus.OK, body, media + charset)
    except SyntaxError as exc:
        response = error(HTTPStatus.BAD_REQUEST, f"SPARQL syntax error: {exc}")
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        response = error(HTTPStatus.BAD_REQUEST, f"cannot run the query: {exc}")
    return int(response.status), response.body, response.media


def _die_with_parent() -> None:  # pragma: no cover (runs in a child)
    """On Linux, have the kernel kill this worker when the server process ends
    in any way (even SIGKILL), so that no query outlives the server."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _cut_network() -> bool:  # pragma: no cover (runs in a child)
    """On Linux, move this worker into new user and network namespaces: it
    then has no network at all, a second wall behind the SERVICE check.
    Best effort: where namespaces are not allowed, the worker goes on."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(0x10000000 | 0x40000000) == 0  # CLONE_NEWUSER | CLONE_NEWNET
    except (OSError, AttributeError):
        return False


def _worker_main(conn, source: str, base_iri: str | None) -> None:  # pragma: no cover (runs in a child)
    _die_with_parent()
    store = Store()
    store.load(path=source, format=RdfFormat.N_TRIPLES)
    isolated = _cut_network()
    conn.send("ready")
    conn.send(isolated)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(execute(store, *request, base_iri))


# ------------------------------------------------------------- the pool
class Worker:
    def __init__(self, context, source: Path, base_iri: str | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, str(source), base_iri), daemon=True, name="citydiplo-sparql"
        )
        self.process.start()
        child.close()
        self.ready = False
        #: whether the worker runs without network (Linux namespaces)
        self.isolated = False

    def wait_ready(self) -> bool:
        """Wait until the worker has loaded the graph; False if it failed."""
        try:
            if not self.ready and self.conn.poll(START_TIMEOUT):
                self.ready = self.conn.recv() == "ready" and self.conn.poll(START_TIMEOUT)
                self.isolated = self.ready and self.conn.recv() is True
        except (EOFError, OSError):
            self.ready = False
        return self.ready

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class QueryPool:
    """``size`` worker processes over the N-Triples file ``source``."""

    def __init__(self, source: Path, size: int = 2, timeout: float = 10.0, base_iri: str | None = None):
        self.source, self.size, self.timeout, self.base_iri = source, size, timeout, base_iri
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._idle.put(self._start())

    def _start(self) -> Worker:
        worker = Worker(self._context, self.source, self.base_iri)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: Worker) -> None:
        worker.stop()
        with self._lock:
            self._all.discard(worker)
            if self._closed:
                return
        self._idle.put(self._start())

    def wait_ready(self) -> tuple[bool, bool]:
        """Block until every idle worker has loaded the graph (for start-up and
        tests): whether all of them are ready, and whether all run without network."""
        workers = []
        while True:
            try:
                workers.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in workers:
            worker.wait_ready()
            self._idle.put(worker)
        return all(w.ready for w in workers), all(w.isolated for w in workers)

    def run(self, request: SparqlRequest, accept: str | None) -> SparqlResponse:
        try:
            worker = self._idle.get(timeout=QUEUE_WAIT)
        except queue.Empty:
            return error(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"all {self.size} query workers stayed busy for {QUEUE_WAIT:g} s: try again later",
            )
        try:
            if not worker.wait_ready():
                self._replace(worker)
                return error(HTTPStatus.SERVICE_UNAVAILABLE, "the query worker could not load the graph")
            worker.conn.send((request.query, accept, request.default_graphs, request.named_graphs))
            if worker.conn.poll(self.timeout):
                status, body, media = worker.conn.recv()
                self._idle.put(worker)
                return SparqlResponse(status, body, media)
        except (EOFError, OSError):
            self._replace(worker)
            return error(HTTPStatus.INTERNAL_SERVER_ERROR, "the query worker stopped unexpectedly; try again")
        self._replace(worker)
        return error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            f"the query ran longer than the time limit of {self.timeout:g} s and was stopped: "
            "ask for less (a LIMIT, fewer joins)",
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()
