"""A bounded loopback load test of ``citydiplo serve`` (run on demand).

    python tests/benchmarks/load_test.py [--clients 200] [--requests 25] [--seconds 120] [--site build/html]

Starts ``citydiplo serve`` in this process on a free port of 127.0.0.1 (with
its default limits: 32 request threads, 2 query workers, 10 s per query),
then lets ``--clients`` clients start together, each sending up to
``--requests`` requests one after the other, a new connection each (the
server speaks HTTP/1.0): entity IRIs with several Accept headers, static
pages, the dump's N-Triples, and SPARQL queries (a small SELECT, a COUNT, a
CONSTRUCT). It stops by itself: after every client has sent its requests,
or after ``--seconds`` (the clients then send no more). Prints the number of
requests, the failures (a connection error, a time-out or an unexpected
status), the request rate and the p50/p99 latency; results are recorded in
tests/benchmarks/RESULTS.md ("Endpoint load"). Nothing is written below
build/ (without a built site, the fixture project is built into a temporary
folder).

``tests/test_serve.py`` runs :func:`run_load` with a few requests per client
and asserts that none fails (no timing assertions).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

#: (method, path, Accept, body content type, body, expected status)
SELECT = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label } LIMIT 20"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 50"


def default_mix(entity: str = "gfmd") -> list[tuple[str, str, str | None, str | None, bytes, int]]:
    q = urllib.parse.quote
    return [
        ("GET", f"/id/{entity}", "text/html,application/xhtml+xml,*/*;q=0.8", None, b"", 200),
        ("GET", f"/id/{entity}", "text/turtle", None, b"", 200),
        ("GET", f"/id/{entity}", "application/ld+json", None, b"", 200),
        ("GET", f"/id/{entity}", "application/n-triples;q=0.9, application/rdf+xml", None, b"", 200),
        ("GET", "/", None, None, b"", 200),
        ("GET", "/dist/citydiplo.nt", None, None, b"", 200),
        ("GET", f"/sparql?query={q(SELECT)}", "application/sparql-results+json", None, b"", 200),
        ("POST", "/sparql", "text/csv", "application/sparql-query", COUNT.encode(), 200),
        ("GET", f"/sparql?query={q(CONSTRUCT)}", "text/turtle", None, b"", 200),
        ("GET", f"/id/{entity}", "image/png", None, b"", 406),
    ]


@dataclass
class LoadResult:
    clients: int
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.clients} clients, {self.requests} requests in {self.seconds:.1f} s ({rate:.0f} requests/s)",
            f"failures: {self.failures}",
            f"latency: p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.1f} ms, "
            f"mean {statistics.fmean(self.latencies or [0]) * 1000:.1f} ms",
        ]
        lines += [f"  {count} x {problem}" for problem, count in sorted(self.problems.items())]
        return "\n".join(lines)


def run_load(
    host: str,
    port: int,
    clients: int = 200,
    requests_each: int = 25,
    seconds: float = 120.0,
    mix=None,
    timeout: float = 60.0,
) -> LoadResult:
    """``clients`` threads start together and send ``requests_each`` requests
    each (cycling through ``mix``), until done or ``seconds`` have passed."""
    mix = mix or default_mix()
    result = LoadResult(clients)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        start.wait()
        for n in range(requests_each):
            if time.monotonic() > stop_at[0]:
                return
            method, path, accept, ctype, body, expected = mix[(index + n) % len(mix)]
            headers = {"Accept": accept} if accept else {}
            if ctype:
                headers["Content-Type"] = ctype
            began = time.perf_counter()
            problem = None
            try:
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
                try:
                    connection.request(method, path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    if response.status != expected:
                        problem = f"{method} {path[:40]}: {response.status} instead of {expected}"
                finally:
                    connection.close()
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{method} {path[:40]}: {type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - began
            with lock:
                result.requests += 1
                result.latencies.append(elapsed)
                if problem:
                    result.failures += 1
                    result.problems[problem] = result.problems.get(problem, 0) + 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(max(0.1, stop_at[0] + timeout - time.monotonic()))
    result.seconds = time.monotonic() - began
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument("--seconds", type=float, default=120.0, help="stop sending after this long")
    parser.add_argument("--site", type=Path, default=None, help="a built site (default: build/html, else the fixture)")
    args = parser.parse_args(argv)

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from citydiplo.config import load_project
    from citydiplo.serve.server import make_server

    project = load_project(root)
    site = args.site or project.build_dir / "html"
    entity = "gfmd"
    with tempfile.TemporaryDirectory(prefix="citydiplo-load-") as tmp:
        if not (site / "index.html").is_file():
            import io

            from tests.conftest import make_project

            from citydiplo.site.build import build_site

            print("no built site: building the fixture project into a temporary folder", file=sys.stderr)
            project = make_project(Path(tmp) / "repo")
            site = build_site(project, jobs=1, status=io.StringIO())
        server = make_server(project, site, port=0, quiet=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            host, port = server.server_address[:2]
            result = run_load(host, port, args.clients, args.requests, args.seconds, default_mix(entity))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
    print(result.summary())
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
