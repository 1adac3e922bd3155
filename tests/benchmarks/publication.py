"""Linked-data publication on the real graph (run on demand).

    python tests/benchmarks/publication.py

Measures, in this process, on the graph in vocab/: `citydiplo export` (all
formats), the per-IRI files alone, writing them into a site (first time and
again when nothing changed); the size of each dump file; and, with
`citydiplo serve` on a loopback port over a site made of those files, the
latency of an IRI request per Accept header and of every documented query
(over HTTP, and in-process for comparison). Nothing is written below build/.
Results are recorded in tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from citydiplo.config import load_project
from citydiplo.graph.export import export, read_triples
from citydiplo.graph.query import load_queries, make_store, run_query
from citydiplo.serve.server import make_server
from citydiplo.site.publish import documents, write_site_files

ROOT = Path(__file__).resolve().parents[2]


def median_time(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def get(url: str, accept: str | None = None, data: bytes | None = None) -> bytes:
    headers = {"Accept": accept} if accept else {}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as response:
        return response.read()


def main() -> int:
    project = load_project(ROOT)
    data = read_triples(project)
    print(f"graph: {len(set(data))} triples")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seconds = median_time(lambda: export(project, tmp / "dist"), 5)
        print(f"export (ttl, nt, jsonld, csv, sums)  {seconds * 1000:7.0f} ms (median of 5)")
        for path in sorted((tmp / "dist").rglob("*")):
            if path.is_file() and path.parent == tmp / "dist":
                print(f"  {path.name:<22} {path.stat().st_size / 1024:8.0f} KiB")
        seconds = median_time(lambda: documents(project, data), 5)
        print(f"per-IRI documents (in memory)          {seconds * 1000:7.0f} ms, {len(documents(project, data))} files")
        site = tmp / "site"
        start = time.perf_counter()
        write_site_files(project, site)
        print(f"write_site_files, first time           {(time.perf_counter() - start) * 1000:7.0f} ms")
        seconds = median_time(lambda: write_site_files(project, site), 3)
        print(f"write_site_files, nothing changed      {seconds * 1000:7.0f} ms (median of 3)")

        (site / "index.html").write_text("<!doctype html><title>bench</title>", encoding="utf-8")
        (site / "id/mayors-mechanism.html").write_text("<!doctype html><title>MM</title>", encoding="utf-8")
        server = make_server(project, site, port=0, quiet=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            iri = server.url + "id/mayors-mechanism"
            for accept in ("text/html", "text/turtle", "application/ld+json"):
                seconds = median_time(lambda a=accept: get(iri, a), 50)
                print(f"serve: IRI as {accept:<20} {seconds * 1000:7.2f} ms (median of 50)")
            store = make_store(project)
            print("query                                   HTTP ms  in-process ms (medians of 10)")
            for query in load_queries(project):
                body = urllib.parse.urlencode({"query": query.text}).encode()
                http = median_time(lambda b=body: get(server.url + "sparql", "text/csv", b), 10)
                local = median_time(lambda q=query: run_query(project, q.text, store=store), 10)
                print(f"  {query.name[:36]:<36} {http * 1000:8.1f} {local * 1000:10.1f}")
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
