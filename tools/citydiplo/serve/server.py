"""``citydiplo serve``: the built site with content negotiation, and a
read-only SPARQL 1.1 Protocol endpoint over the graph.

Standard library only (``http.server``) plus a pyoxigraph ``Store``. The
store is filled once, at start, and only ever queried: the endpoint refuses
SPARQL Update (an ``update=`` parameter or an ``application/sparql-update``
body gets 403), and update syntax sent as a query is a syntax error (400).

URL rules (the same as ``conf/nginx/``, with the site at ``/`` instead of
below the base IRI's path):

- ``/id/<slug>`` and ``/def/<Name>``: the page (``.html``), Turtle (``.ttl``)
  or JSON-LD (``.jsonld``), chosen by the ``Accept`` header (q-values
  weighed; HTML when the header is missing or nothing else fits);
- ``/def`` (the ontology) and ``/dataset`` (the VoID/DCAT description):
  Turtle or JSON-LD, or for a browser a 303 redirect to the page that
  describes them;
- ``/sparql``: ``GET ?query=``, ``POST`` form or ``application/sparql-query``;
  results as ``application/sparql-results+json`` (default), ``+xml``,
  ``text/csv`` or ``text/tab-separated-values``; CONSTRUCT and DESCRIBE as
  Turtle (default), N-Triples, JSON-LD or RDF/XML;
- anything else: the file, ``index.html`` of a folder, or ``<path>.html``.
"""

from __future__ import annotations

import html
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph
from pyoxigraph import DefaultGraph, NamedNode, QueryResultsFormat, RdfFormat, Store

from ..config import Project

#: What a resource IRI can be answered with, in the server's order of preference.
OFFERS = (("html", "text/html"), ("ttl", "text/turtle"), ("jsonld", "application/ld+json"))
ALIASES = {"application/xhtml+xml": "text/html", "application/json": "application/ld+json"}
#: For a browser, the page that describes the ontology and the dataset.
HTML_HOMES = {"def": "reference/generated/ontology.html", "dataset": "data/"}
SOLUTION_FORMATS = (
    ("application/sparql-results+json", QueryResultsFormat.JSON),
    ("application/sparql-results+xml", QueryResultsFormat.XML),
    ("text/csv", QueryResultsFormat.CSV),
    ("text/tab-separated-values", QueryResultsFormat.TSV),
    ("application/json", QueryResultsFormat.JSON),
)
GRAPH_FORMATS = (
    ("text/turtle", RdfFormat.TURTLE),
    ("application/n-triples", RdfFormat.N_TRIPLES),
    ("application/ld+json", RdfFormat.JSON_LD),
    ("application/rdf+xml", RdfFormat.RDF_XML),
)
MAX_BODY = 1 << 20
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class ServeError(Exception):
    """The site cannot be served (not built, port taken)."""


# ---------------------------------------------------------- negotiation
def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """``Accept`` as (media range, q) pairs; malformed q-values count as 1."""
    ranges = []
    for part in (header or "").split(","):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        if not media:
            continue
        q = 1.0
        for param in bits[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 1.0
        ranges.append((ALIASES.get(media, media), q))
    return ranges


def quality(ranges: list[tuple[str, float]], media: str) -> float:
    """The q of ``media`` under the most specific matching range (0 if none)."""
    kind = media.split("/")[0] + "/*"
    best, best_rank = 0.0, -1
    for candidate, q in ranges:
        rank = 2 if candidate == media else 1 if candidate == kind else 0 if candidate == "*/*" else -1
        if rank > best_rank:
            best, best_rank = q, rank
    return best if best_rank >= 0 else 0.0


def negotiate(header: str | None, offers: list[str]) -> str | None:
    """The offer the client prefers; the first offer if there is no header,
    ``None`` if the client accepts none of them."""
    if not offers:
        return None
    ranges = parse_accept(header)
    if not ranges:
        return offers[0]
    scored = [(quality(ranges, media), -index, media) for index, media in enumerate(offers)]
    q, _, media = max(scored)
    return media if q > 0 else None


@dataclass
class Answer:
    """What to send for a URL path: a file, a redirect, or an error."""

    status: int
    file: Path | None = None
    location: str | None = None
    media: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def resolve(site: Path, path: str, accept: str | None) -> Answer:
    """Map a URL path (already unquoted, starting with ``/``) to an answer."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
        return Answer(HTTPStatus.NOT_FOUND)
    negotiated = None
    if len(parts) == 2 and parts[0] in ("id", "def") and NAME_RE.match(parts[1]) and not path.endswith("/"):
        folder, name = parts
        negotiated = (site / folder, name, None)
    elif len(parts) == 1 and parts[0] in HTML_HOMES and not path.endswith("/"):
        home = HTML_HOMES[parts[0]]
        exists = (site / home / "index.html").is_file() if home.endswith("/") else (site / home).is_file()
        negotiated = (site, parts[0], home if exists else None)
    if negotiated is not None:
        folder, name, home = negotiated
        offers = [(s, m) for s, m in OFFERS if (folder / f"{name}.{s}").is_file()]
        if home is not None:
            offers.insert(0, ("html", "text/html"))
        if offers:
            vary = {"Vary": "Accept"}
            links = ", ".join(f'<{name}.{s}>; rel="alternate"; type="{m}"' for s, m in offers if s != "html")
            if links:
                vary["Link"] = links
            chosen = negotiate(accept, [m for _, m in offers])
            if chosen is None:
                chosen = offers[0][1]  # nothing acceptable: the default, as the issue asks
            suffix = next(s for s, m in offers if m == chosen)
            if suffix == "html" and home is not None:
                return Answer(HTTPStatus.SEE_OTHER, location="/" + home, headers=vary)
            target = folder / f"{name}.{suffix}"
            rel = target.relative_to(site).as_posix()
            return Answer(HTTPStatus.OK, file=target, media=chosen, headers={**vary, "Content-Location": "/" + rel})
    target = site.joinpath(*parts) if parts else site
    if target.is_dir():
        if parts and not path.endswith("/"):
            return Answer(HTTPStatus.MOVED_PERMANENTLY, location=path + "/")
        target = target / "index.html"
    elif not target.is_file() and parts and (site.joinpath(*parts[:-1]) / f"{parts[-1]}.html").is_file():
        target = site.joinpath(*parts[:-1]) / f"{parts[-1]}.html"
    if target.is_file():
        return Answer(HTTPStatus.OK, file=target)
    return Answer(HTTPStatus.NOT_FOUND)


# ---------------------------------------------------------------- SPARQL
@dataclass
class SparqlResponse:
    status: int
    body: bytes
    media: str


def sparql_request(
    method: str, query_string: str, content_type: str | None, body: bytes, accept: str | None
) -> tuple[str | None, list[str], list[str], SparqlResponse | None]:
    """Parse a SPARQL Protocol request: (query, default graphs, named graphs, or an error response)."""
    params = urllib.parse.parse_qs(query_string, keep_blank_values=True)
    media = (content_type or "").split(";")[0].strip().lower()
    if method == "POST":
        if media == "application/sparql-update":
            return None, [], [], refused()
        if media == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        elif media == "application/sparql-query":
            params.setdefault("query", []).append(body.decode("utf-8", "replace"))
        else:
            return None, [], [], error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported content type {media!r}")
    if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
        return None, [], [], refused()
    queries = params.get("query", [])
    if len(queries) != 1:
        if not queries:
            return None, [], [], None
        return None, [], [], error(HTTPStatus.BAD_REQUEST, "give exactly one query parameter")
    return queries[0], params.get("default-graph-uri", []), params.get("named-graph-uri", []), None


def error(status: int, message: str) -> SparqlResponse:
    return SparqlResponse(status, (message.rstrip() + "\n").encode("utf-8"), "text/plain; charset=utf-8")


def refused() -> SparqlResponse:
    return error(HTTPStatus.FORBIDDEN, "this endpoint is read-only: SPARQL Update is not accepted")


def run_sparql(
    store: Store, query: str, accept: str | None, default_graphs=(), named_graphs=(), base_iri: str | None = None
) -> SparqlResponse:
    """Run a query and serialise its result in the format the client accepts."""
    kwargs = {}
    if default_graphs:
        kwargs["default_graph"] = [NamedNode(g) for g in default_graphs]
    if named_graphs:
        kwargs["named_graphs"] = [NamedNode(g) for g in named_graphs]
    try:
        result = store.query(query, base_iri=base_iri, **kwargs)
    except SyntaxError as exc:
        return error(HTTPStatus.BAD_REQUEST, f"SPARQL syntax error: {exc}")
    except (ValueError, OSError) as exc:
        return error(HTTPStatus.BAD_REQUEST, f"cannot run the query: {exc}")
    formats = GRAPH_FORMATS if isinstance(result, pyoxigraph.QueryTriples) else SOLUTION_FORMATS
    media = negotiate(accept, [m for m, _ in formats])
    if media is None:
        offered = ", ".join(m for m, _ in formats)
        return error(HTTPStatus.NOT_ACCEPTABLE, f"this result can be sent as: {offered}")
    fmt = dict(formats)[media]
    body = result.serialize(format=fmt)
    charset = "; charset=utf-8" if media.startswith("text/") else ""
    return SparqlResponse(HTTPStatus.OK, body, media + charset)


FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SPARQL endpoint</title></head>
<body><h1>SPARQL endpoint (read-only)</h1>
<form method="get" action="sparql"><p><label for="q">Query</label></p>
<textarea id="q" name="query" rows="12" cols="80">{example}</textarea>
<p><button type="submit">Run</button></p></form></body></html>
"""


# ---------------------------------------------------------------- server
class Handler(SimpleHTTPRequestHandler):
    """Static files with content negotiation, and ``/sparql``."""

    server: CitydiploServer
    extensions_map = {  # noqa: RUF012 (the standard library's own attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".ttl": "text/turtle; charset=utf-8",
        ".nt": "application/n-triples",
        ".jsonld": "application/ld+json",
        ".csv": "text/csv; charset=utf-8",
        ".svg": "image/svg+xml",
        "": "text/plain; charset=utf-8",
    }

    def __init__(self, request, client_address, server):
        self.extra_headers: dict[str, str] = {}
        super().__init__(request, client_address, server, directory=str(server.site))

    def log_message(self, format, *args):
        if not self.server.quiet:
            super().log_message(format, *args)

    def end_headers(self):
        for key, value in self.extra_headers.items():
            self.send_header(key, value)
        super().end_headers()

    # -------------------------------------------------------------- dispatch
    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.not_allowed()

    do_DELETE = do_PATCH = do_PUT

    def not_allowed(self):
        self.extra_headers = {"Allow": "GET, HEAD, POST"}
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "this server is read-only")

    def dispatch(self, method: str):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if path == "/sparql":
            return self.sparql(method, url.query)
        if method == "POST":
            return self.not_allowed()
        answer = resolve(self.server.site, path, self.headers.get("Accept"))
        self.extra_headers = dict(answer.headers)
        if answer.status in (HTTPStatus.SEE_OTHER, HTTPStatus.MOVED_PERMANENTLY):
            self.send_response(answer.status)
            self.send_header("Location", answer.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if answer.file is None:
            return self.send_error(HTTPStatus.NOT_FOUND, "not found")
        rel = answer.file.relative_to(self.server.site).as_posix()
        self.path = "/" + urllib.parse.quote(rel)
        return super().do_GET() if method == "GET" else super().do_HEAD()

    def sparql(self, method: str, query_string: str):
        self.extra_headers = {"Access-Control-Allow-Origin": "*", "Vary": "Accept"}
        body = b""
        if method == "POST":
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                return self.reply(error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes"))
            body = self.rfile.read(length)
        accept = self.headers.get("Accept")
        query, defaults, named, problem = sparql_request(
            method, query_string, self.headers.get("Content-Type"), body, accept
        )
        if problem is not None:
            return self.reply(problem, head=method == "HEAD")
        if query is None:
            if method == "POST":
                return self.reply(error(HTTPStatus.BAD_REQUEST, "no query given"))
            example = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10"
            page = FORM.format(example=html.escape(example)).encode("utf-8")
            return self.reply(SparqlResponse(HTTPStatus.OK, page, "text/html; charset=utf-8"), head=method == "HEAD")
        response = run_sparql(self.server.store, query, accept, defaults, named, self.server.base_iri)
        return self.reply(response, head=method == "HEAD")

    def reply(self, response: SparqlResponse, head: bool = False):
        self.send_response(response.status)
        self.send_header("Content-Type", response.media)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head:
            self.wfile.write(response.body)


class CitydiploServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, site: Path, store: Store, base_iri: str | None = None, quiet: bool = False):
        self.site = site.resolve()
        self.store = store
        self.base_iri = base_iri
        self.quiet = quiet
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def load_store(project: Project, site: Path) -> tuple[Store, str]:
    """The graph: the dump shipped with the site, else the dump built from vocab/."""
    store = Store()
    dump = site / "dist" / "citydiplo.nt"
    if dump.is_file():
        store.load(path=str(dump), format=RdfFormat.N_TRIPLES)
        return store, project.rel(dump)
    from ..graph.export import dump_graph

    store.extend(pyoxigraph.Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in dump_graph(project))
    return store, "vocab/"


def make_server(
    project: Project,
    site: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    store: Store | None = None,
    quiet: bool = False,
) -> CitydiploServer:
    site = site or project.build_dir / "html"
    if not (site / "index.html").is_file():
        raise ServeError(f"no built site in {project.rel(site)}/: run `citydiplo build` first")
    if store is None:
        store, _ = load_store(project, site)
    try:
        return CitydiploServer((host, port), site, store, base_iri=project.base_iri, quiet=quiet)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(project: Project, site: Path | None = None, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run until interrupted; returns an exit status."""
    server = make_server(project, site, host, port)
    print(
        f"citydiplo: serving {project.rel(server.site)}/ at {server.url} "
        f"(SPARQL endpoint: {server.url}sparql); press Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
