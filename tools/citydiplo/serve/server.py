"""``citydiplo serve``: a local preview of the built site with content
negotiation, and a read-only SPARQL 1.1 Protocol endpoint over the graph.

It is meant for one person's machine (it binds to 127.0.0.1 by default and
warns when told to listen beyond loopback); the hosted site runs behind
nginx (``conf/nginx/``, ``handbook/data/hosting.md``). Standard library only
(``http.server``) plus pyoxigraph in worker processes (:mod:`.sparql`).

Limits: a fixed pool of request threads (``threads``) with a bounded queue
of waiting connections (more get 503), a listen backlog of 128, a socket
timeout per connection, request bodies up to 1 MiB, and a time limit per
query (the worker running it is killed and replaced; the client gets 503).
The query workers run without network where Linux allows it (:mod:`.sparql`).
Every error is answered with a status and a plain-text message.

URL rules (the same as ``conf/nginx/``, with the site at ``/`` instead of
below the base IRI's path):

- ``/id/<slug>`` and ``/def/<Name>``: the page (``.html``), Turtle
  (``.ttl``), JSON-LD (``.jsonld``), N-Triples (``.nt``) or RDF/XML
  (``.rdf``), chosen by the ``Accept`` header (:mod:`.negotiation`; HTML
  without a header, 406 with the list of formats when none is acceptable);
- ``/def`` (the ontology) and ``/dataset`` (the VoID/DCAT description): the
  RDF files, or for a browser a 303 redirect to the page that describes them;
- ``/sparql``: ``GET ?query=``, ``POST`` form or ``application/sparql-query``;
  SELECT/ASK results as ``application/sparql-results+json`` (default),
  ``application/json``, ``+xml``, ``text/csv`` or ``text/tab-separated-values``;
  CONSTRUCT and DESCRIBE as Turtle (default), N-Triples, JSON-LD or RDF/XML.
  SPARQL Update gets 403, ``SERVICE`` 400, a query over the time limit 503;
- anything else: the file, ``index.html`` of a folder, or ``<path>.html``;
  never a file outside the site folder (symbolic links out of it are not
  followed).

Reads (GET, HEAD and queries) carry ``Access-Control-Allow-Origin: *``;
``OPTIONS`` is answered with 204 and the allowed methods.
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
import shutil
import signal
import sys
import tempfile
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

from pyoxigraph import RdfFormat

from ..config import Project
from .negotiation import OFFERS, negotiate
from .sparql import MAX_BODY, QueryPool, SparqlResponse, error, parse_request

#: For a browser, the page that describes the ontology and the dataset.
HTML_HOMES = {"def": "reference/generated/ontology.html", "dataset": "data/"}
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
#: Defaults of the limits (``citydiplo serve --help`` shows them).
QUERY_TIMEOUT = 10.0
QUERY_WORKERS = 2
THREADS = 32
SOCKET_TIMEOUT = 15.0
BACKLOG = 128
READ_HEADERS = {"Access-Control-Allow-Origin": "*"}


class ServeError(Exception):
    """The site cannot be served (not built, port taken)."""


# ---------------------------------------------------------- resolution
@dataclass
class Answer:
    """What to send for a URL path: a file, a redirect, or an error."""

    status: int
    file: Path | None = None
    location: str | None = None
    media: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""


def inside(site: Path, target: Path) -> bool:
    """Whether ``target``, with every symbolic link followed, is inside ``site`` (already resolved)."""
    try:
        return target.resolve().is_relative_to(site)
    except (OSError, RuntimeError):
        return False


def resolve(site: Path, path: str, accept: str | None) -> Answer:
    """Map a URL path (already unquoted, starting with ``/``) to an answer."""
    site = site.resolve()
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
        return Answer(HTTPStatus.NOT_FOUND, message="not found")
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
        offers = [(s, m) for s, m in OFFERS if (folder / f"{name}.{s}").is_file() and (s != "html" or home is None)]
        if home is not None:
            offers.insert(0, ("html", "text/html"))
        if offers:
            vary = {"Vary": "Accept"}
            links = ", ".join(f'<{name}.{s}>; rel="alternate"; type="{m}"' for s, m in offers if s != "html")
            if links:
                vary["Link"] = links
            chosen = negotiate(accept, [m for _, m in offers])
            if chosen is None:
                available = ", ".join(m for _, m in offers)
                return Answer(
                    HTTPStatus.NOT_ACCEPTABLE, headers=vary, message=f"this resource is available as: {available}"
                )
            suffix = next(s for s, m in offers if m == chosen)
            if suffix == "html" and home is not None:
                return Answer(HTTPStatus.SEE_OTHER, location="/" + home, headers=vary)
            target = folder / f"{name}.{suffix}"
            if not inside(site, target):
                return Answer(HTTPStatus.NOT_FOUND, message="not found")
            rel = target.relative_to(site).as_posix()
            return Answer(HTTPStatus.OK, file=target, media=chosen, headers={**vary, "Content-Location": "/" + rel})
    target = site.joinpath(*parts) if parts else site
    if target.is_dir():
        if parts and not path.endswith("/"):
            return Answer(HTTPStatus.MOVED_PERMANENTLY, location=path + "/")
        target = target / "index.html"
    elif not target.is_file() and parts and (site.joinpath(*parts[:-1]) / f"{parts[-1]}.html").is_file():
        target = site.joinpath(*parts[:-1]) / f"{parts[-1]}.html"
    if target.is_file() and inside(site, target):
        return Answer(HTTPStatus.OK, file=target)
    return Answer(HTTPStatus.NOT_FOUND, message="not found")


FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SPARQL endpoint</title></head>
<body><h1>SPARQL endpoint (read-only)</h1>
<p>Queries may run for {timeout:g} seconds; SERVICE (federated query) and SPARQL Update are refused.</p>
<form method="get" action="sparql"><p><label for="q">Query</label></p>
<textarea id="q" name="query" rows="12" cols="80">{example}</textarea>
<p><button type="submit">Run</button></p></form></body></html>
"""


# ---------------------------------------------------------------- server
class Handler(SimpleHTTPRequestHandler):
    """Static files with content negotiation, and ``/sparql``."""

    server: CitydiploServer
    default_request_version = "HTTP/1.0"  # even a malformed request line gets a status line and headers
    extensions_map = {  # noqa: RUF012 (the standard library's own attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".ttl": "text/turtle; charset=utf-8",
        ".nt": "application/n-triples",
        ".rdf": "application/rdf+xml",
        ".jsonld": "application/ld+json",
        ".csv": "text/csv; charset=utf-8",
        ".svg": "image/svg+xml",
        "": "text/plain; charset=utf-8",
    }

    def __init__(self, request, client_address, server):
        self.extra_headers: dict[str, str] = {}
        self.timeout = server.socket_timeout  # read by StreamRequestHandler.setup()
        super().__init__(request, client_address, server, directory=str(server.site))

    def version_string(self) -> str:
        return "citydiplo-serve (local preview)"

    def log_message(self, format, *args):
        # an open page of a watched preview asks for the generation every second: not worth a line each time
        if not self.server.quiet and not getattr(self, "path", "").startswith(GENERATION_PATH):
            super().log_message(format, *args)

    def end_headers(self):
        for key, value in self.extra_headers.items():
            self.send_header(key, value)
        self.extra_headers = {}
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        """Every error as plain text: the status and a message (also for the standard library's own errors)."""
        short = self.responses.get(code, ("error", ""))[0]
        text = f"{int(code)} {message or short}" + (f": {explain}" if explain else "") + "\n"
        body = text.encode("utf-8", "replace")
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message if message and message.isascii() and "\n" not in message else short)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.wfile.write(body)

    # -------------------------------------------------------------- dispatch
    def do_GET(self):
        self.guarded("GET")

    def do_HEAD(self):
        self.guarded("HEAD")

    def do_POST(self):
        self.guarded("POST")

    def do_OPTIONS(self):
        self.guarded("OPTIONS")

    def do_PUT(self):
        self.guarded("PUT")

    do_DELETE = do_PATCH = do_CONNECT = do_TRACE = do_PUT

    def sparql_paths(self) -> tuple[str, ...]:
        # a query backend also answers at Oxigraph's path, so nginx can pass to either
        return ("/sparql", "/query") if self.server.sparql_only else ("/sparql",)

    def allowed(self) -> str:
        return "GET, HEAD, POST, OPTIONS" if self.url_path() in self.sparql_paths() else "GET, HEAD, OPTIONS"

    def url_path(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)

    def guarded(self, method: str):
        """Dispatch, and turn any failure into a 500 with a message (never a dropped connection)."""
        try:
            self.dispatch(method)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # the last line of defence: answer, then log
            self.log_error("internal error on %s %s: %r", method, self.path, exc)
            self.extra_headers = {}
            try:
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", type(exc).__name__)
            except OSError:
                self.close_connection = True

    def dispatch(self, method: str):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if method == "OPTIONS":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.extra_headers = {
                "Allow": self.allowed(),
                **READ_HEADERS,
                "Access-Control-Allow-Methods": self.allowed(),
                "Access-Control-Allow-Headers": "Accept, Content-Type",
                "Access-Control-Max-Age": "86400",
                "Content-Length": "0",
            }
            self.end_headers()
            return None
        if method not in ("GET", "HEAD", "POST") or (method == "POST" and path not in self.sparql_paths()):
            self.extra_headers = {"Allow": self.allowed()}
            return self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "this server is read-only")
        if path in self.sparql_paths():
            return self.sparql(method, url.query)
        if self.server.sparql_only:
            return self.send_error(HTTPStatus.NOT_FOUND, "this server answers SPARQL queries only, at /sparql")
        preview = self.server.preview
        if preview is not None and path == GENERATION_PATH:
            body = json.dumps({"generation": preview.generation}).encode("ascii")
            self.extra_headers = {"Cache-Control": "no-store"}
            return self.reply(SparqlResponse(HTTPStatus.OK, body, "application/json"), head=method == "HEAD")
        answer = resolve(self.server.site, path, self.headers.get("Accept"))
        self.extra_headers = {**answer.headers, **READ_HEADERS}
        if preview is not None:
            self.extra_headers["Cache-Control"] = "no-cache"  # the next rebuild may change any file
            if answer.file is not None and answer.file.suffix == ".html":
                self.extra_headers = {**answer.headers, "Cache-Control": "no-cache"}  # reply() adds READ_HEADERS
                return self.page_that_reloads(answer.file, preview.generation, head=method == "HEAD")
        if answer.status in (HTTPStatus.SEE_OTHER, HTTPStatus.MOVED_PERMANENTLY):
            self.send_response(answer.status)
            self.send_header("Location", answer.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if answer.file is None:
            return self.send_error(answer.status, answer.message or None)
        rel = answer.file.relative_to(self.server.site).as_posix()
        self.path = "/" + urllib.parse.quote(rel)
        return super().do_GET() if method == "GET" else super().do_HEAD()

    def page_that_reloads(self, file: Path, generation: int, head: bool):
        """A page of a watched preview, with a script that reloads it after the next rebuild."""
        try:
            page = file.read_bytes()
        except OSError:  # swapped away between resolving and reading: the new build has it
            return self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "the site is being replaced: reload the page")
        script = RELOAD_SCRIPT.replace("GENERATION", str(int(generation))).encode("ascii")
        at = page.rfind(b"</body>")
        page = page[:at] + script + page[at:] if at >= 0 else page + script
        return self.reply(SparqlResponse(HTTPStatus.OK, page, "text/html; charset=utf-8"), head=head)

    def sparql(self, method: str, query_string: str):
        body = b""
        if method == "POST":
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                return self.reply(error(HTTPStatus.BAD_REQUEST, "invalid Content-Length"))
            if length > MAX_BODY:
                return self.reply(error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes"))
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                return self.reply(error(HTTPStatus.REQUEST_TIMEOUT, "the request body did not arrive in time"))
            if len(body) < length:
                return self.reply(error(HTTPStatus.BAD_REQUEST, "the request body is shorter than its Content-Length"))
        accept = self.headers.get("Accept")
        request = parse_request(method, query_string, self.headers.get("Content-Type"), body)
        head = method == "HEAD"
        if isinstance(request, SparqlResponse):
            read = request.status not in (HTTPStatus.FORBIDDEN,)
            return self.reply(request, head=head, read=read)
        if request.query is None:
            if method == "POST":
                return self.reply(error(HTTPStatus.BAD_REQUEST, "no query given"))
            example = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10"
            page = FORM.format(example=html.escape(example), timeout=self.server.pool.timeout).encode("utf-8")
            return self.reply(SparqlResponse(HTTPStatus.OK, page, "text/html; charset=utf-8"), head=head)
        return self.reply(self.server.pool.run(request, accept), head=head)

    def reply(self, response: SparqlResponse, head: bool = False, read: bool = True):
        self.send_response(response.status)
        self.send_header("Content-Type", response.media)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Vary", "Accept")
        if read:
            for key, value in READ_HEADERS.items():
                self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)


#: What a page of a watched preview (``serve --watch``) asks for: the number of good builds so far.
GENERATION_PATH = "/.citydiplo/generation"
#: Added to the pages of a watched preview: asks for the generation every second and reloads the page when it changed.
RELOAD_SCRIPT = (
    "<script>/* citydiplo serve --watch */(function(){var seen=GENERATION;function look(){"
    'fetch("/.citydiplo/generation",{cache:"no-store"}).then(function(r){return r.json()})'
    ".then(function(d){if(d.generation!==seen){location.reload()}})"
    ".catch(function(){}).finally(function(){setTimeout(look,1000)})}setTimeout(look,1000)})();</script>"
)

BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 1\r\nContent-Length: 39\r\nConnection: close\r\n\r\n"
    b"503 the server is busy: try again soon\n"
)


class CitydiploServer(HTTPServer):
    """An HTTP server with a fixed pool of request threads and a bounded queue of waiting connections."""

    request_queue_size = BACKLOG

    def __init__(
        self,
        address,
        site: Path,
        pool: QueryPool,
        quiet: bool = False,
        threads: int = THREADS,
        socket_timeout: float = SOCKET_TIMEOUT,
        sparql_only: bool = False,
    ):
        self.site = site.resolve()
        self.sparql_only = sparql_only
        self.pool = pool
        self.quiet = quiet
        self.socket_timeout = socket_timeout
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="citydiplo-http")
        # a connection waits for a thread only while fewer than this many are in the server
        self.slots = threading.BoundedSemaphore(threads + 2 * BACKLOG)
        self.cleanup: list[Path] = []
        #: the rebuilds of ``serve --watch`` (:class:`citydiplo.serve.watch.Preview`), else None
        self.preview = None
        #: query pools replaced after a rebuild, closed once their queries are over
        self.retired: list[QueryPool] = []
        #: whether the query workers run without network (Linux namespaces), a wall behind the SERVICE check
        self.isolated = False
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(1)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        self.executor.submit(self.process_request_thread, request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self.slots.release()

    def handle_error(self, request, client_address):
        if not self.quiet:
            super().handle_error(request, client_address)

    def new_graph(self) -> bool:
        """After a rebuild: answer queries from the site's new dump (a new pool of
        workers; the old pool is closed once its time limit has passed, so no
        query running on it is cut short). False when the site has no dump."""
        dump = self.site / "dist" / "citydiplo.nt"
        if not dump.is_file():
            return False
        old = self.pool
        pool = QueryPool(dump, size=old.size, timeout=old.timeout, base_iri=old.base_iri)
        pool.wait_ready()
        self.pool = pool
        self.retired.append(old)
        timer = threading.Timer(old.timeout + 1, old.close)
        timer.daemon = True
        timer.start()
        return True

    def server_close(self):
        super().server_close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.pool.close()
        for pool in self.retired:
            pool.close()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def graph_file(project: Project, site: Path) -> tuple[Path, Path | None]:
    """The graph as N-Triples for the query workers: the dump shipped with the
    site, else one written from vocab/ into a temporary folder (returned second)."""
    dump = site / "dist" / "citydiplo.nt"
    if dump.is_file():
        return dump, None
    import pyoxigraph

    from ..graph.export import dump_graph

    folder = Path(tempfile.mkdtemp(prefix="citydiplo-serve-"))
    path = folder / "graph.nt"
    path.write_bytes(pyoxigraph.serialize(dump_graph(project), format=RdfFormat.N_TRIPLES))
    return path, folder


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(
    project: Project,
    site: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    quiet: bool = False,
    timeout: float = QUERY_TIMEOUT,
    workers: int = QUERY_WORKERS,
    threads: int = THREADS,
    socket_timeout: float = SOCKET_TIMEOUT,
    sparql_only: bool = False,
) -> CitydiploServer:
    """A server ready to ``serve_forever()``, its query workers loaded; ``server_close()`` stops them.

    With ``sparql_only`` it answers only SPARQL queries (at ``/sparql`` and
    ``/query``), from the dump in the site if there is one, else from vocab/:
    the query backend behind nginx (``conf/nginx/citydiplo-sparql.conf``)."""
    site = site or project.build_dir / "html"
    if not sparql_only and not (site / "index.html").is_file():
        raise ServeError(f"no built site in {project.rel(site)}/: run `citydiplo build` first")
    source, temporary = graph_file(project, site)
    pool = QueryPool(source, size=workers, timeout=timeout, base_iri=project.base_iri)
    try:
        server = CitydiploServer(
            (host, port),
            site,
            pool,
            quiet=quiet,
            threads=threads,
            socket_timeout=socket_timeout,
            sparql_only=sparql_only,
        )
    except OSError as exc:
        pool.close()
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if temporary:
        server.cleanup.append(temporary)
    ready, server.isolated = pool.wait_ready()
    if not ready:
        server.server_close()
        raise ServeError(f"the query workers could not load the graph from {project.rel(source)}")
    return server


def serve(
    project: Project,
    site: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = QUERY_TIMEOUT,
    workers: int = QUERY_WORKERS,
    sparql_only: bool = False,
    watch: bool = False,
) -> int:
    """Run until interrupted; returns an exit status.

    With ``watch``, build the site first, then rebuild it whenever a file in
    handbook/, vocab/ or conf/ changes (:mod:`.watch`), serving the last good
    build throughout."""
    if not is_loopback(host):
        print(
            f"citydiplo: warning: listening on {host} makes this preview reachable from other machines; "
            "`citydiplo serve` is for local use only: host the site with nginx (handbook/data/hosting.md)",
            file=sys.stderr,
            flush=True,
        )
    watcher = preview = None
    if watch:
        from .watch import Preview, Watcher, say

        preview = Preview(project)
        watcher = Watcher(project, preview.build)  # looks at the sources now: edits during the first build count
        say("building the site before serving it (then every saved change is rebuilt)")
        if not preview.build() and not (project.build_dir / "html" / "index.html").is_file():
            raise ServeError("the site could not be built (see above), and there is no earlier build to serve")
    server = make_server(project, site, host, port, timeout=timeout, workers=workers, sparql_only=sparql_only)
    if preview is not None:
        server.preview = preview
        preview.on_built = server.new_graph
    if sparql_only:
        what = f"a SPARQL endpoint at {server.url}sparql and {server.url}query ({timeout:g} s per query)"
    else:
        what = f"{project.rel(server.site)}/ at {server.url} "
        what += f"(SPARQL endpoint: {server.url}sparql, {timeout:g} s per query)"
    print(f"citydiplo: serving {what} for local use only; press Ctrl-C to stop", file=sys.stderr, flush=True)
    if watcher is not None:
        print(
            "citydiplo: watching handbook/, vocab/ and conf/: a saved change is rebuilt and open pages reload; "
            "a failed rebuild prints its errors and the last good build stays served",
            file=sys.stderr,
            flush=True,
        )
        watcher.start()
    if not server.isolated:
        print(
            "citydiplo: notice: the query workers run with network access (this system does not allow "
            "network namespaces); SERVICE is still refused",
            file=sys.stderr,
            flush=True,
        )

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # `kill` stops the query workers too
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if watcher is not None:
            watcher.stop(timeout=1)  # a rebuild still running is abandoned; the last good build stays
        server.server_close()
    return 0
