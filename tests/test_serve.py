"""``citydiplo serve``: content negotiation for IRIs and a read-only SPARQL
1.1 Protocol endpoint, over a built copy of the fixture site, on loopback."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from citydiplo.cli import main
from citydiplo.serve.server import make_server, negotiate, parse_accept, resolve
from citydiplo.site.build import build_site

from .conftest import make_project

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CO_LEADS = "co-leads-of-mayors-mechanism"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("serve") / "repo")
    build_site(project, jobs=1, status=io.StringIO())
    return project


@pytest.fixture(scope="module")
def server(built):
    server = make_server(built, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
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
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/json", "application/ld+json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/ld+json;q=0.5, text/turtle", "text/turtle"),
        ("text/*;q=0.3, application/ld+json;q=0.4", "application/ld+json"),
        ("text/turtle;q=0, */*;q=0.1", "text/html"),
        ("text/turtle;q=x", "text/turtle"),
        ("image/png", None),
    ],
)
def test_negotiate(accept, expected):
    assert negotiate(accept, ["text/html", "text/turtle", "application/ld+json"]) == expected


def test_parse_accept_keeps_q_values():
    assert parse_accept("text/turtle;q=0.5, application/ld+json") == [("text/turtle", 0.5), ("application/ld+json", 1)]


def test_resolve_without_a_server(tmp_path):
    (tmp_path / "id").mkdir()
    for name in ("a.html", "a.ttl", "a.jsonld"):
        (tmp_path / "id" / name).write_text(name)
    (tmp_path / "index.html").write_text("home")
    assert resolve(tmp_path, "/id/a", "text/turtle").file == tmp_path / "id/a.ttl"
    assert resolve(tmp_path, "/id/a", None).file == tmp_path / "id/a.html"
    assert resolve(tmp_path, "/id/a", "image/png").file == tmp_path / "id/a.html"  # nothing fits: the page
    assert resolve(tmp_path, "/id/a.ttl", "text/html").file == tmp_path / "id/a.ttl"  # a file is a file
    assert resolve(tmp_path, "/", None).file == tmp_path / "index.html"
    assert resolve(tmp_path, "/id/../index.html", None).status == 404
    assert resolve(tmp_path, "/id/b", None).status == 404
    assert resolve(tmp_path, "/id", None).location == "/id/"


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
        assert "serving build/html/ at http://127.0.0.1:" in line, line
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
