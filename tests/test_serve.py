"""``citydiplo serve``: content negotiation for IRIs and a read-only SPARQL
1.1 Protocol endpoint, over a built copy of the fixture site, on loopback;
its limits (SERVICE refused, a time limit per query, a bounded pool of
threads, no symlinks out of the site) and a quick loopback load test."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from citydiplo.cli import main
from citydiplo.graph.query import find_service
from citydiplo.serve.negotiation import OFFERS, negotiate, parse_accept
from citydiplo.serve.server import make_server, resolve
from citydiplo.site.build import build_site

from .conftest import TESTS, edit, make_project

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CO_LEADS = "co-leads-of-mayors-mechanism"
#: A query that takes many minutes: COUNT over the cartesian product of every triple with itself, four times.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SERVICE = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
#: SERVICE in the forms a detector must not miss (lower case, SILENT, a prefixed
#: name, a variable, a \u escape); refused by serve and by nginx alike.
SERVICE_QUERIES = [
    SERVICE,
    "select * where { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "PREFIX ex: <http://127.0.0.1:9/>\nSELECT * WHERE { SeRvIcE ex:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
]
#: A suffix for each answer of the negotiation table, and the media type the answer carries.
SUFFIX_MEDIA = dict(OFFERS)


def negotiation_table() -> list[tuple[str | None, str, str]]:
    """``tests/data/negotiation.csv``: (Accept header or None for no header, expected suffix or 406, why)."""
    with (TESTS / "data" / "negotiation.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(None if r["accept"] == "<absent>" else r["accept"], r["expected"], r["why"]) for r in rows]


NEGOTIATION = negotiation_table()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("serve") / "repo")
    build_site(project, jobs=1, status=io.StringIO())
    return project


def running(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def server(built):
    server = make_server(built, port=0, quiet=True, timeout=3, workers=2)
    thread = running(server)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def fetch(url, accept=None, data=None, content_type=None, method=None):
    """(status, headers, body) without raising on 4xx/5xx and without following redirects."""
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, headers=headers, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# --------------------------------------------------------------- negotiation
def test_negotiation_table_is_big_and_varied():
    headers = [accept for accept, _, _ in NEGOTIATION]
    assert len(NEGOTIATION) >= 25
    assert len(set(headers)) == len(headers)
    text = " ".join(h or "" for h in headers)
    for needle in ("q=0,", "q=0.", "*/*", "text/*", "application/*", "rdf+xml", "n-triples", "ld+json", "turtle"):
        assert needle in text + ",", needle
    assert {expected for _, expected, _ in NEGOTIATION} == {"html", "ttl", "jsonld", "nt", "rdf", "406"}


@pytest.mark.parametrize(("accept", "expected", "why"), NEGOTIATION)
def test_negotiate_follows_the_table(accept, expected, why):
    chosen = negotiate(accept, [media for _, media in OFFERS])
    assert chosen == SUFFIX_MEDIA.get(expected), why


def test_parse_accept_keeps_q_values():
    assert parse_accept("text/turtle;q=0.5, application/ld+json") == [("text/turtle", 0.5), ("application/ld+json", 1)]


def test_resolve_without_a_server(tmp_path):
    (tmp_path / "id").mkdir()
    for name in ("a.html", "a.ttl", "a.jsonld"):
        (tmp_path / "id" / name).write_text(name)
    (tmp_path / "index.html").write_text("home")
    assert resolve(tmp_path, "/id/a", "text/turtle").file == tmp_path / "id/a.ttl"
    assert resolve(tmp_path, "/id/a", None).file == tmp_path / "id/a.html"
    refused = resolve(tmp_path, "/id/a", "image/png")
    assert refused.status == 406 and "text/html, text/turtle, application/ld+json" in refused.message
    assert resolve(tmp_path, "/id/a", "application/n-triples").status == 406  # only the files that exist
    assert resolve(tmp_path, "/id/a.ttl", "text/html").file == tmp_path / "id/a.ttl"  # a file is a file
    assert resolve(tmp_path, "/", None).file == tmp_path / "index.html"
    assert resolve(tmp_path, "/id/../index.html", None).status == 404
    assert resolve(tmp_path, "/id/b", None).status == 404
    assert resolve(tmp_path, "/id", None).location == "/id/"


def test_resolve_follows_no_symlink_out_of_the_site(tmp_path):
    site, outside = tmp_path / "site", tmp_path / "secret"
    (site / "id").mkdir(parents=True)
    outside.mkdir()
    (outside / "key.txt").write_text("secret")
    (outside / "x.ttl").write_text("secret")
    (site / "index.html").write_text("home")
    (site / "inner.txt").write_text("fine")
    (site / "leak.txt").symlink_to(outside / "key.txt")
    (site / "folder").symlink_to(outside, target_is_directory=True)
    (site / "id" / "x.ttl").symlink_to(outside / "x.ttl")
    (site / "alias.txt").symlink_to(site / "inner.txt")
    assert resolve(site, "/leak.txt", None).status == 404
    assert resolve(site, "/folder/key.txt", None).status == 404
    assert resolve(site, "/id/x", "text/turtle").status == 404
    assert resolve(site, "/alias.txt", None).file == site.resolve() / "alias.txt"  # a link inside the site is fine


# ------------------------------------------------------------ the IRIs
@pytest.mark.parametrize(
    ("accept", "media", "start"),
    [
        (None, "text/html", b"<!doctype html>"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html", b"<!doctype html>"),
        ("text/turtle", "text/turtle", b"@prefix"),
        ("application/ld+json", "application/ld+json", b"{"),
    ],
)
def test_entity_iri_answers_in_the_accepted_format(server, accept, media, start):
    status, headers, body = fetch(server.url + "id/gfmd", accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media
    assert headers["Vary"] == "Accept"
    assert body.lstrip().lower().startswith(start.lower())
    if media == "text/turtle":
        assert b"cdi:gfmd" in body and b"Global Forum on Migration and Development" in body
    if media == "application/ld+json":
        assert any(node["@id"] == "cdi:gfmd" for node in json.loads(body)["@graph"])


@pytest.mark.parametrize(("accept", "expected", "why"), NEGOTIATION)
def test_entity_iri_follows_the_negotiation_table(server, built, accept, expected, why):
    status, headers, body = fetch(server.url + "id/gfmd", accept)
    assert headers["Vary"] == "Accept", why
    if expected == "406":
        assert status == 406, why
        assert headers["Content-Type"].startswith("text/plain")
        for media in SUFFIX_MEDIA.values():
            assert media in body.decode(), why
        return
    assert status == 200, why
    assert headers["Content-Type"].split(";")[0] == SUFFIX_MEDIA[expected], why
    assert body == (built.build_dir / f"html/id/gfmd.{expected}").read_bytes(), why
    assert headers["Content-Location"] == f"/id/gfmd.{expected}"


def test_term_ontology_and_dataset_iris(server):
    status, headers, body = fetch(server.url + "def/Forum", "text/turtle")
    assert status == 200 and b"cd:Forum a owl:Class" in body
    assert fetch(server.url + "def/Forum", "text/html")[0] == 200
    status, headers, body = fetch(server.url + "def", "application/ld+json")
    assert status == 200 and "owl:Ontology" in body.decode()
    status, headers, _ = fetch(server.url + "def", "text/html")
    assert status == 303 and headers["Location"] == "/reference/generated/ontology.html"
    status, headers, body = fetch(server.url + "dataset", "text/turtle")
    assert status == 200 and b"void:Dataset" in body and headers["Content-Location"] == "/dataset.ttl"


def test_static_files_and_dump(server):
    status, headers, body = fetch(server.url + "dist/citydiplo.nt")
    assert status == 200 and headers["Content-Type"] == "application/n-triples"
    status, headers, body = fetch(server.url + "dist/SHA256SUMS")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and b"citydiplo.ttl" in body
    status, headers, _ = fetch(server.url + "dist/csv/forums.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert fetch(server.url)[0] == 200
    assert fetch(server.url + "id/no-such-entity", "text/turtle")[0] == 404
    assert fetch(server.url + "%2e%2e/%2e%2e/etc/passwd")[0] == 404
    assert fetch(server.url + "index.html", data=b"x", method="PUT")[0] == 405


def test_reads_carry_cors_and_options_is_answered(server):
    status, headers, _ = fetch(server.url + "id/gfmd", "text/turtle")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    for path, allow in (("id/gfmd", "GET, HEAD, OPTIONS"), ("sparql", "GET, HEAD, POST, OPTIONS")):
        status, headers, body = fetch(server.url + path, method="OPTIONS")
        assert status == 204 and body == b""
        assert headers["Allow"] == allow and headers["Access-Control-Allow-Methods"] == allow
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    update = "INSERT DATA { <https://example.org/a> <https://example.org/b> <https://example.org/c> }"
    status, headers, _ = fetch(server.url + "sparql", data=update.encode(), content_type="application/sparql-update")
    assert status == 403 and "Access-Control-Allow-Origin" not in headers  # not a read


def raw(server, data: bytes) -> bytes:
    """Send raw bytes, return everything the server answers until it closes."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_every_error_has_a_status_and_a_message(server):
    for answer in (
        fetch(server.url + "id/no-such-entity", "text/turtle"),
        fetch(server.url + "index.html", data=b"x", method="PUT"),
        fetch(server.url + "index.html", data=b"x", content_type="text/plain"),
        fetch(server.url + "sparql", data=b"x", content_type="text/plain"),
        fetch(server.url + "sparql", data=b"", content_type="application/sparql-query"),
        fetch(server.url + "sparql?" + urllib.parse.urlencode([("query", COUNT), ("query", COUNT)])),
    ):
        status, headers, body = answer
        assert 400 <= status < 500 and headers["Content-Type"].startswith("text/plain"), answer
        assert len(body.strip()) > 10, answer
    assert fetch(server.url + "index.html", method="DELETE")[0] == 405
    for request in (b"NONSENSE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n"):
        reply = raw(server, request)
        status_line, _, rest = reply.partition(b"\r\n")
        assert status_line.split()[1][:1] in (b"4", b"5"), reply[:200]
        assert b"Content-Type: text/plain" in rest and rest.split(b"\r\n\r\n", 1)[1].strip(), reply[:200]
    # a body larger than allowed is refused before it is read
    big = b"POST /sparql HTTP/1.0\r\nContent-Type: application/sparql-query\r\nContent-Length: 99999999\r\n\r\n"
    assert raw(server, big).startswith(b"HTTP/1.0 413")


# ------------------------------------------------------------------ SPARQL
def count(server) -> int:
    status, _, body = fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": COUNT}))
    assert status == 200
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def test_sparql_get_and_post_return_json_by_default(server, built):
    query = (built.vocab_dir / f"queries/{CO_LEADS}.rq").read_text()
    expected = list(csv.reader((built.vocab_dir / f"queries/{CO_LEADS}.csv").open(encoding="utf-8")))
    answers = [
        fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": query})),
        fetch(
            server.url + "sparql",
            data=urllib.parse.urlencode({"query": query}).encode(),
            content_type="application/x-www-form-urlencoded",
        ),
        fetch(server.url + "sparql", data=query.encode(), content_type="application/sparql-query"),
    ]
    for status, headers, body in answers:
        assert status == 200 and headers["Content-Type"] == "application/sparql-results+json"
        result = json.loads(body)
        assert result["head"]["vars"] == expected[0]
        rows = [[b[v]["value"] for v in expected[0]] for b in result["results"]["bindings"]]
        assert rows == expected[1:]


def test_sparql_csv_and_construct_formats(server):
    query = urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s a <https://w3id.org/citydiplo/def/Forum> }"})
    status, headers, body = fetch(server.url + "sparql?" + query, "text/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.decode().splitlines() == ["s", "https://w3id.org/citydiplo/id/gfmd"]
    construct = urllib.parse.urlencode(
        {"query": "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c FILTER(?s = <https://w3id.org/citydiplo/id/gfmd>) }"}
    )
    status, headers, body = fetch(server.url + "sparql?" + construct)
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    status, headers, body = fetch(server.url + "sparql?" + construct, "application/n-triples")
    assert status == 200 and body.decode().strip() == (
        "<https://w3id.org/citydiplo/id/gfmd> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        "<https://w3id.org/citydiplo/def/Forum> ."
    )
    status, _, body = fetch(server.url + "sparql?" + query, "image/png")
    assert status == 406 and b"application/sparql-results+json" in body
    assert fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": "SELEC nonsense"}))[0] == 400


def test_sparql_endpoint_refuses_updates(server):
    before = count(server)
    update = "INSERT DATA { <https://example.org/a> <https://example.org/b> <https://example.org/c> }"
    attempts = [
        fetch(server.url + "sparql?" + urllib.parse.urlencode({"update": update})),
        fetch(
            server.url + "sparql",
            data=urllib.parse.urlencode({"update": update}).encode(),
            content_type="application/x-www-form-urlencoded",
        ),
        fetch(server.url + "sparql", data=update.encode(), content_type="application/sparql-update"),
    ]
    for status, _, body in attempts:
        assert status == 403 and b"read-only" in body
    # update syntax sent as a query is not a query
    status, _, _ = fetch(server.url + "sparql", data=update.encode(), content_type="application/sparql-query")
    assert status == 400
    status, _, _ = fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": update}))
    assert status == 400
    assert count(server) == before


@pytest.mark.parametrize("query", SERVICE_QUERIES)
def test_sparql_endpoint_refuses_service(server, query):
    for answer in (
        fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": query})),
        fetch(server.url + "sparql", data=query.encode(), content_type="application/sparql-query"),
    ):
        status, headers, body = answer
        assert status == 400 and b"SERVICE (federated query) is not allowed" in body
        assert headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("query", "line"),
    [
        (SERVICE, 1),
        ("select *\nwhere { service <http://x/> { ?s ?p ?o } }", 2),
        ("PREFIX ex: <http://x/>\nSELECT * {\n SERVICE ex:ep { ?s ?p ?o } }", 3),
        ("SELECT * { SERVICE?e{ ?s ?p ?o } }", 1),
        ("SELECT * { SERVICE<http://x/>{ ?s ?p ?o } }", 1),
        ("SELECT * { \\u0073ervice <http://x/> { ?s ?p ?o } }", 1),
        ('SELECT * { ?s ?p "SERVICE <http://x/>" }', None),
        ("SELECT * { ?s ?p '''line\nSERVICE <http://x/> { }''' }", None),
        ("# SERVICE <http://x/>\nSELECT * { ?s ?p ?o }", None),
        ("SELECT * { <http://x/SERVICE> ?p ?o }", None),
        ("PREFIX service: <http://x/>\nSELECT ?service { ?service service:p ex:service }", None),
        ('SELECT * { ?s ?p "a\\"SERVICE" }', None),
    ],
)
def test_find_service(query, line):
    assert find_service(query) == line


def test_words_like_service_elsewhere_are_fine(server):
    query = 'SELECT ?service WHERE { BIND("SERVICE <http://127.0.0.1:9/>" AS ?service) } # SERVICE'
    status, _, body = fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": query}))
    assert status == 200 and "SERVICE <http" in json.loads(body)["results"]["bindings"][0]["service"]["value"]


def test_sparql_result_types(server):
    select = urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s a <https://w3id.org/citydiplo/def/Forum> }"})
    for accept, media, start in (
        ("application/json", "application/json", b"{"),
        ("application/sparql-results+xml", "application/sparql-results+xml", b"<?xml"),
        ("text/tab-separated-values", "text/tab-separated-values", b"?s"),
        ("application/sparql-results+json;q=0.1, text/csv", "text/csv", b"s"),
    ):
        status, headers, body = fetch(server.url + "sparql?" + select, accept)
        assert status == 200 and headers["Content-Type"].split(";")[0] == media and body.startswith(start), accept
        assert headers["Access-Control-Allow-Origin"] == "*"
    ask = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    status, headers, body = fetch(server.url + "sparql?" + ask, "application/json")
    assert status == 200 and json.loads(body)["boolean"] is True
    construct = urllib.parse.urlencode({"query": "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 3"})
    for accept, start in (("application/ld+json", b"["), ("application/rdf+xml", b"<?xml")):
        status, headers, body = fetch(server.url + "sparql?" + construct, accept)
        assert status == 200 and headers["Content-Type"] == accept and body.lstrip().startswith(start), accept
    status, _, body = fetch(server.url + "sparql?" + construct, "application/sparql-results+json")
    assert status == 406 and b"text/turtle" in body


def test_a_slow_query_is_stopped_while_others_are_answered(server):
    # The cartesian COUNT would run for many minutes; the server stops it at its
    # time limit (3 s here) and answers 503, and answers other queries meanwhile.
    slow: dict = {}

    def run_slow():
        began = time.monotonic()
        slow["answer"] = fetch(server.url + "sparql?" + urllib.parse.urlencode({"query": CARTESIAN}))
        slow["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.5)
    before = count(server)  # the other worker answers
    thread.join(60)
    status, headers, body = slow["answer"]
    assert status == 503 and b"time limit of 3 s" in body and headers["Content-Type"].startswith("text/plain")
    assert slow["seconds"] < 30  # stopped, not finished (the query alone takes minutes)
    assert count(server) == before  # and the replacement worker answers
    assert count(server) == before


def test_sparql_form_for_browsers(server):
    status, _, body = fetch(server.url + "sparql", "text/html")
    assert status == 200 and b"<form" in body


# --------------------------------------------------------------------- CLI
def test_cli_serve_starts_on_loopback_and_stops(built):
    process = subprocess.Popen(
        [sys.executable, "-m", "citydiplo.cli", "--root", str(built.root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stderr.readline()
        assert "serving build/html/ at http://127.0.0.1:" in line and "for local use only" in line, line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        status, headers, _ = fetch(url + "id/gfmd", "text/turtle")
        assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def test_cli_serve_without_a_built_site_says_so(project, capsys):
    assert main(["--root", str(project.root), "serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "no built site in build/html/: run `citydiplo build` first" in err and "Traceback" not in err


def test_cli_serve_help_and_bad_arguments(capsys):
    # main() turns argparse's exit into its return code (usage errors: 2)
    assert main(["serve", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "For local use only" in out and "--timeout" in out and "--workers" in out and "--watch" in out
    for argv, message in (
        (["serve", "--port", "70000"], "70000 is not a port number"),
        (["serve", "--port", "eighty"], "'eighty' is not a port number"),
        (["serve", "--timeout", "0"], "is not a number of seconds"),
        (["serve", "--workers", "100"], "is not a number of workers"),
        (["serve", "--watch", "--sparql-only"], "--watch rebuilds and serves the site in build/html"),
        (["serve", "--watch", "--site", "elsewhere"], "it cannot be used with --site"),
    ):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, err


def test_cli_serve_beyond_loopback_warns(project, capsys):
    # no built site, so nothing is bound: only the warning and the error are printed
    assert main(["--root", str(project.root), "serve", "--bind", "192.0.2.1", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "warning: listening on 192.0.2.1" in err and "for local use only" in err
    assert main(["--root", str(project.root), "serve", "--bind", "::1", "--port", "0"]) == 1
    assert "warning" not in capsys.readouterr().err


def test_cli_query_refuses_service(project, capsys):
    assert main(["--root", str(project.root), "query", SERVICE]) == 1
    err = capsys.readouterr().err
    assert "line 1: SERVICE (federated query) is not allowed" in err and "Traceback" not in err


# --------------------------------------------------------------------- load
def test_quick_load_200_concurrent_clients(server):
    """200 clients at once, a few requests each, on loopback: none fails (timings go to RESULTS.md)."""
    spec = importlib.util.spec_from_file_location("load_test", TESTS / "benchmarks" / "load_test.py")
    load_test = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("load_test", load_test)
    spec.loader.exec_module(load_test)
    host, port = server.server_address[:2]
    result = load_test.run_load(host, port, clients=200, requests_each=3, seconds=120)
    assert result.requests == 600 and result.failures == 0, result.summary()


def test_idle_connections_time_out_and_do_not_block_the_server(built):
    """Two request threads, both held by clients that send nothing: after the
    socket timeout (1 s here) they are free again and a real request is answered."""
    server = make_server(built, port=0, quiet=True, workers=1, threads=2, socket_timeout=1)
    thread = running(server)
    host, port = server.server_address[:2]
    idle = [socket.create_connection((host, port), timeout=10) for _ in range(2)]
    try:
        began = time.monotonic()
        status, _, body = fetch(server.url + "id/gfmd", "text/turtle")
        assert status == 200 and b"cdi:gfmd" in body
        assert time.monotonic() - began < 20
        for sock in idle:
            assert sock.recv(100) == b""  # closed by the server, not held forever
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_query_workers_have_no_network(tmp_path):
    """A second wall behind the SERVICE check: a query that reaches a worker
    anyway cannot fetch anything (the worker runs in its own network namespace)."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from citydiplo.serve.sparql import QueryPool, SparqlRequest

    fetched = []

    class Target(BaseHTTPRequestHandler):
        def do_GET(self):
            fetched.append(self.path)
            self.send_error(500)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    target = HTTPServer(("127.0.0.1", 0), Target)
    thread = running(target)
    graph = tmp_path / "graph.nt"
    graph.write_text("<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n")
    pool = QueryPool(graph, size=1, timeout=10)
    try:
        ready, isolated = pool.wait_ready()
        assert ready
        if not isolated:
            pytest.skip("this system does not allow unprivileged network namespaces")
        port = target.server_address[1]
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        answer = pool.run(SparqlRequest(query, [], []), None)  # past parse_request's check, on purpose
        assert answer.status == 400 and b"unreachable" in answer.body.lower()
        assert fetched == []
        answer = pool.run(SparqlRequest("SELECT ?o WHERE { ?s ?p ?o }", [], []), "text/csv")
        assert answer.status == 200 and answer.body.split() == [b"o", b"https://example.org/c"]
    finally:
        pool.close()
        target.shutdown()
        target.server_close()
        thread.join(timeout=10)


def test_sparql_only_backend_needs_no_site(project):
    """`citydiplo serve --sparql-only`: the query backend behind nginx; here without
    a built site, from vocab/; it answers at /sparql and at Oxigraph's /query."""
    server = make_server(project, port=0, quiet=True, workers=1, sparql_only=True)
    thread = running(server)
    try:
        query = urllib.parse.urlencode({"query": COUNT})
        for path in ("sparql", "query"):
            status, _, body = fetch(server.url + path + "?" + query)
            assert status == 200 and int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 100
            status, _, _ = fetch(server.url + path, data=COUNT.encode(), content_type="application/sparql-query")
            assert status == 200
        status, _, body = fetch(server.url + "query?" + urllib.parse.urlencode({"query": SERVICE}))
        assert status == 400 and b"SERVICE" in body
        status, _, body = fetch(server.url + "id/gfmd", "text/turtle")
        assert status == 404 and b"SPARQL queries only" in body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ------------------------------------------------------------ serve --watch
class Served:
    """`citydiplo serve --watch` on a copy of the fixture project, in a child
    process; its messages are collected as they come."""

    def __init__(self, root):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "citydiplo.cli", "--root", str(root), "serve", "--watch", "--port", "0"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        line = self.wait_for("citydiplo: serving ")
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, start: int = 0, seconds: float = 300) -> str:
        """The first message from ``start`` on that holds ``text`` (a deadline, not a timed assertion)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if text in line:
                    return line
            assert self.process.poll() is None, "".join(self.lines)
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in:\n" + "".join(self.lines))

    def page(self, path: str) -> str:
        status, _, body = fetch(self.url + path)
        assert status == 200, (path, status)
        return body.decode("utf-8")

    def wait_for_page(self, path: str, text: str, seconds: float = 300) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            page = self.page(path)
            if text in page:
                return page
            assert self.process.poll() is None, "".join(self.lines)
            time.sleep(0.2)
        raise AssertionError(f"{path} never showed {text!r}:\n" + "".join(self.lines))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        finally:
            self.reader.join(timeout=5)
            self.process.stderr.close()


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("watch") / "repo")
    served = Served(project.root)
    try:
        yield project, served
    finally:
        served.stop()


def test_watch_rebuilds_on_save_and_open_pages_reload(watched):
    project, served = watched
    assert served.url.startswith("http://127.0.0.1:")  # loopback
    assert any("watching handbook/, vocab/ and conf/" in line for line in served.lines)
    page = served.page("index.html")
    assert "citydiplo serve --watch" in page and 'fetch("/.citydiplo/generation"' in page  # reloads itself
    generation = json.loads(fetch(served.url + ".citydiplo/generation")[2])["generation"]
    # a prose page
    start = len(served.lines)
    edit(project.handbook_dir / "index.md", "# Test handbook", "# Test handbook, edited WATCH-PROSE")
    served.wait_for_page("index.html", "WATCH-PROSE")
    assert "index.md changed: rebuilding" in served.wait_for("changed: rebuilding", start)
    assert json.loads(fetch(served.url + ".citydiplo/generation")[2])["generation"] > generation
    assert not any("/.citydiplo/generation" in line for line in served.lines)  # polled every second: not logged
    # an entity's label: its page, and the graph the SPARQL endpoint answers from
    edit(project.vocab_dir / "data" / "actors.ttl", '"Mayors Mechanism"@en', '"Mayors WATCH-LABEL Mechanism"@en')
    served.wait_for_page("id/mayors-mechanism.html", "Mayors WATCH-LABEL Mechanism")
    query = urllib.parse.urlencode({"query": 'ASK { ?s ?p "Mayors WATCH-LABEL Mechanism"@en }'})
    deadline = time.monotonic() + 60
    while json.loads(fetch(served.url + "sparql?" + query)[2])["boolean"] is not True:
        assert time.monotonic() < deadline, "the SPARQL endpoint kept the old graph"
        time.sleep(0.2)
    # the build wrote the generated pages below handbook/ and started no rebuild of its own
    time.sleep(2)
    assert sum("changed: rebuilding" in line for line in served.lines) == 2, served.lines


def test_watch_with_nothing_good_to_serve_says_so(project, capsys):
    actors = project.vocab_dir / "data" / "actors.ttl"
    actors.write_text(actors.read_text(encoding="utf-8").replace("skos:prefLabel", "skos:prefLabel <<", 1))
    assert main(["--root", str(project.root), "serve", "--watch", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"vocab/data/actors\.ttl:\d+: ", err) and "Traceback" not in err
    assert "the site could not be built (see above), and there is no earlier build to serve" in err


def test_watcher_debounces_a_burst_and_ignores_what_the_build_writes(project):
    from citydiplo.serve.watch import Watcher

    calls = []
    called = threading.Event()

    def on_change(paths):
        calls.append(paths)
        called.set()

    watcher = Watcher(project, on_change, poll=0.05, settle=1.0).start()
    try:
        index = project.handbook_dir / "index.md"
        for word in ("ONE", "TWO", "THREE"):  # an editor saving three times in a row
            index.write_text(index.read_text(encoding="utf-8") + word, encoding="utf-8")
        (project.vocab_dir / "data" / "new.ttl").write_text("", encoding="utf-8")
        assert called.wait(30)
        time.sleep(1.5)
        assert calls == [[str(index), str(project.vocab_dir / "data" / "new.ttl")]]  # one call for the burst
        called.clear()
        # what a build writes (generated pages, pack root pages, catalogues) and editors' scratch files: no call
        for rel in ("id/x.md", "reference/generated/y.md", "_coursepacks/p.md", "locales/de/LC_MESSAGES/i.mo"):
            (project.handbook_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (project.handbook_dir / rel).write_text("x", encoding="utf-8")
        (project.handbook_dir / ".index.md.swp").write_text("x", encoding="utf-8")
        (project.handbook_dir / "index.md~").write_text("x", encoding="utf-8")
        assert not called.wait(2)
        (project.conf_dir / "citydiplo.toml").touch()  # conf/ is watched too
        assert called.wait(30) and calls[-1] == [str(project.conf_dir / "citydiplo.toml")]
    finally:
        watcher.stop(timeout=10)
    assert not watcher.thread.is_alive()


def test_watch_keeps_the_last_good_site_when_a_rebuild_fails(watched):
    project, served = watched
    before = served.page("id/mayors-mechanism.html")
    actors = project.vocab_dir / "data" / "actors.ttl"
    good = actors.read_text(encoding="utf-8")
    # bad Turtle: the error names the file and line; the last good site stays served
    start = len(served.lines)
    actors.write_text(good.replace("skos:prefLabel", "skos:prefLabel <<", 1), encoding="utf-8")
    failed = served.wait_for("rebuild failed", start)
    assert "still serving the last good build" in failed
    assert re.search(r"vocab/data/actors\.ttl:\d+: ", "".join(served.lines[start:]))
    assert served.page("id/mayors-mechanism.html") == before
    # mended: the next save is built and served
    actors.write_text(good, encoding="utf-8")
    served.wait_for("rebuilt build/html/", start)
    # a page that Sphinx rejects: reported at its line, the last good site stays served (last: the
    # next rebuild after it reads every page again)
    start = len(served.lines)
    index = project.handbook_dir / "index.md"
    prose = index.read_text(encoding="utf-8")
    index.write_text(prose + "\nSee {entity}`no-such-entity-watch`.\n", encoding="utf-8")
    served.wait_for("rebuild failed", start)
    assert re.search(r"index\.md:\d+: .*no-such-entity-watch", "".join(served.lines[start:]))
    assert "no-such-entity-watch" not in served.page("index.html")
    assert "Traceback" not in "".join(served.lines) and served.process.poll() is None
