"""The shipped nginx configuration (conf/nginx/), tested with the real nginx
from Debian and its JavaScript module (njs): started on a loopback port in a
temporary prefix, serving a built copy of the fixture site at the base IRI's
path, with Oxigraph (read-only, with a time limit) behind /sparql, stopped at
the end. The negotiation table is the one `citydiplo serve` passes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from citydiplo.graph.export import export
from citydiplo.site.build import build_site

from .conftest import REPO, make_project, require_tool
from .test_publication import free_port, oxigraph_binary, wait_for
from .test_serve import CARTESIAN, NEGOTIATION, SERVICE, SERVICE_QUERIES, SUFFIX_MEDIA
from .test_serve import fetch as fetch_once


def fetch(*args, **kwargs):
    """Like a polite client: after 429 (the endpoint's rate limit), wait and ask again."""
    for _ in range(10):
        answer = fetch_once(*args, **kwargs)
        if answer[0] != 429:
            return answer
        time.sleep(1)
    return answer


NJS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
#: Oxigraph's time limit per query in these tests (the guide says 10 s).
QUERY_SECONDS = 2

NGINX_CONF = REPO / "conf" / "nginx"


def base_path(project) -> str:
    """The URL path the site is hosted at: the base IRI's path (``/citydiplo/``)."""
    return urllib.parse.urlsplit(project.base_iri).path


def nginx_conf(prefix: Path, www: Path, port: int, sparql_port: int) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the (private) temp dir
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}load_module {NJS_MODULE};
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
{temp}    js_path "{NGINX_CONF}/";
    include {NGINX_CONF / "citydiplo-http.conf"};
    upstream citydiplo_sparql {{ server 127.0.0.1:{sparql_port}; }}
    server {{
        listen 127.0.0.1:{port};
        root {www};
        include {NGINX_CONF / "citydiplo-site.conf"};
        include {NGINX_CONF / "citydiplo-sparql.conf"};
    }}
}}
"""


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """nginx serving the built fixture site, with Oxigraph (read-only) behind /sparql."""
    binary = require_tool("nginx", "the web server the site is hosted with; Debian package nginx")
    if not NJS_MODULE.is_file():
        message = "nginx's JavaScript module is not installed (Debian package libnginx-mod-http-js)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("nginx")
    project = make_project(tmp / "repo")
    site = build_site(project, jobs=1, status=io.StringIO())
    export(project)
    www = tmp / "www"
    hosted = www / base_path(project).strip("/")
    shutil.copytree(site, hosted, symlinks=True)  # a copy, as the guide says (nginx follows no symlinks)
    secret = tmp / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("secret")
    (hosted / "leak.txt").symlink_to(secret / "key.txt")
    (hosted / "leak").symlink_to(secret, target_is_directory=True)

    oxigraph = oxigraph_binary()
    db = tmp / "oxigraph"
    subprocess.run(
        [oxigraph, "load", "--location", str(db), "--file", str(project.build_dir / "dist/citydiplo.nt")],
        check=True,
        capture_output=True,
    )
    sparql_port = free_port()
    backend = subprocess.Popen(
        [
            *(oxigraph, "serve-read-only", "--location", str(db)),
            *("--bind", f"127.0.0.1:{sparql_port}", "--timeout-s", str(QUERY_SECONDS)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{sparql_port}/query?query=ASK%7B%7D", backend)
        with running_nginx(binary, tmp / "prefix", www, sparql_port) as port:
            yield f"http://127.0.0.1:{port}{base_path(project)}", project, hosted
    finally:
        stop(backend)


def stop(process) -> None:
    process.terminate()  # nginx: fast shutdown of master and workers
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stderr.close()


@contextlib.contextmanager
def running_nginx(binary: str, prefix: Path, www: Path, sparql_port: int):
    """nginx with the shipped configuration on a free loopback port (yielded), checked by ``nginx -t`` first."""
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, www, port, sparql_port))
    check = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "[warn]" not in check.stderr, check.stderr
    server = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/citydiplo/", server)
        yield port
    finally:
        stop(server)


@pytest.fixture(scope="module")
def nginx_citydiplo_backend(nginx, tmp_path_factory):
    """The same site, with `citydiplo serve --sparql-only` (the query backend that
    stops slow queries) behind /sparql instead of Oxigraph."""
    _, project, hosted = nginx
    tmp = tmp_path_factory.mktemp("nginx-citydiplo")
    sparql_port = free_port()
    command = [sys.executable, "-m", "citydiplo.cli", "--root", str(project.root), "serve", "--sparql-only"]
    command += ["--site", str(hosted), "--port", str(sparql_port), "--timeout", str(QUERY_SECONDS)]
    backend = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{sparql_port}/query?query=ASK%7B%7D", backend)
        with running_nginx(shutil.which("nginx"), tmp / "prefix", hosted.parent, sparql_port) as port:
            yield f"http://127.0.0.1:{port}{base_path(project)}", backend
    finally:
        stop(backend)


def test_shipped_config_uses_the_base_iri_path(real_project):
    path = base_path(real_project)
    for name in ("citydiplo-site.conf", "citydiplo-sparql.conf"):
        text = (NGINX_CONF / name).read_text()
        locations = [line.split()[-2] for line in text.splitlines() if line.startswith("location") and "@" not in line]
        assert locations, name
        for location in locations:
            assert location.strip('"').lstrip("^").startswith(path.rstrip("/")), (name, location)


@pytest.mark.parametrize(
    ("accept", "media", "start"),
    [
        (None, "text/html", b"<!doctype html>"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html", b"<!doctype html>"),
        ("text/turtle", "text/turtle", b"@prefix"),
        ("text/turtle, application/ld+json;q=0.5", "text/turtle", b"@prefix"),
        ("application/ld+json", "application/ld+json", b"{"),
        ("application/ld+json, text/turtle;q=0.5", "application/ld+json", b"{"),
    ],
)
def test_entity_iri_by_accept(nginx, accept, media, start):
    url, _, _ = nginx
    status, headers, body = fetch(url + "id/gfmd", accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media
    assert headers["Vary"] == "Accept"
    assert body.lstrip().lower().startswith(start.lower())
    if media != "text/html":
        assert b"Global Forum on Migration and Development" in body


def test_same_answers_as_citydiplo_serve(nginx):
    """The files nginx sends are the site's own files, byte for byte."""
    url, project, _ = nginx
    site = project.build_dir / "html"
    for accept, suffix in (("text/turtle", "ttl"), ("application/ld+json", "jsonld"), ("text/html", "html")):
        status, headers, body = fetch(url + "id/mayors-mechanism", accept)
        assert status == 200 and body == (site / f"id/mayors-mechanism.{suffix}").read_bytes()
        assert headers["Content-Location"].endswith(f"/id/mayors-mechanism.{suffix}")


def test_terms_ontology_dataset_and_dump(nginx):
    url, project, _ = nginx
    status, headers, body = fetch(url + "def/Forum", "text/turtle")
    assert status == 200 and b"cd:Forum a owl:Class" in body
    status, headers, body = fetch(url + "def", "application/ld+json")
    assert status == 200 and headers["Content-Type"] == "application/ld+json" and b"owl:Ontology" in body
    status, headers, _ = fetch(url + "def", "text/html")
    assert status == 303 and headers["Location"].endswith(base_path(project) + "reference/generated/ontology.html")
    status, headers, body = fetch(url + "dataset", "text/turtle")
    assert status == 200 and b"void:Dataset" in body
    status, headers, _ = fetch(url + "dataset", "text/html,*/*;q=0.8")
    assert status == 303 and headers["Location"].endswith(base_path(project) + "data/")
    for name, media in (
        ("citydiplo.ttl", "text/turtle"),
        ("citydiplo.nt", "application/n-triples"),
        ("citydiplo.jsonld", "application/ld+json"),
        ("csv/forums.csv", "text/csv"),
        ("SHA256SUMS", "text/plain"),
    ):
        status, headers, body = fetch(url + "dist/" + name)
        assert status == 200 and headers["Content-Type"].split(";")[0] == media, name
        assert body == (project.build_dir / "html/dist" / name).read_bytes()


def test_static_pages_and_missing_things(nginx):
    url, _, _ = nginx
    status, _, body = fetch(url)
    assert status == 200 and b"Test handbook" in body
    assert fetch(url.rstrip("/"))[0] == 301
    assert fetch(url + "id/gfmd.html")[0] == 200
    assert fetch(url + "id/no-such-entity", "text/turtle")[0] == 404
    # cache lifetimes: pages and data an hour, checksummed stylesheets and scripts a week
    css = re.search(rb'href="(_static/[^"?]+\.css)', body).group(1).decode()
    for path, seconds in (("", 3600), ("id/gfmd.html", 3600), ("id/gfmd.ttl", 3600), (css, 604800)):
        status, headers, _ = fetch(url + path)
        assert status == 200 and headers.get("Cache-Control") == f"max-age={seconds}", (path, dict(headers))


def test_sparql_endpoint_behind_nginx_is_read_only(nginx):
    url, _, _ = nginx
    query = "SELECT ?s WHERE { ?s a <https://w3id.org/citydiplo/def/Forum> }"
    status, _, body = fetch(
        url + "sparql?" + urllib.parse.urlencode({"query": query}), "application/sparql-results+json"
    )
    assert status == 200
    assert [b["s"]["value"] for b in json.loads(body)["results"]["bindings"]] == ["https://w3id.org/citydiplo/id/gfmd"]
    update = "INSERT DATA { <https://example.org/a> <https://example.org/b> <https://example.org/c> }"
    assert fetch(url + "sparql?" + urllib.parse.urlencode({"update": update}))[0] == 403
    assert fetch(url + "sparql", data=update.encode(), content_type="application/sparql-update")[0] == 403
    status, headers, body = fetch(url + "sparql", data=b"", method="PUT")
    assert status == 405 and headers["Allow"] == "GET, HEAD, POST, OPTIONS" and b"read-only" in body


@pytest.mark.parametrize(("accept", "expected", "why"), NEGOTIATION)
def test_entity_iri_follows_the_negotiation_table(nginx, accept, expected, why):
    """The same table as `citydiplo serve` (tests/test_serve.py), answered by nginx and njs."""
    url, _, hosted = nginx
    status, headers, body = fetch(url + "id/gfmd", accept)
    assert headers["Vary"] == "Accept", why
    if expected == "406":
        assert status == 406, why
        for media in SUFFIX_MEDIA.values():
            assert media in body.decode(), why
        return
    assert status == 200, why
    assert headers["Content-Type"].split(";")[0] == SUFFIX_MEDIA[expected], why
    assert body == (hosted / f"id/gfmd.{expected}").read_bytes(), why
    assert headers["Content-Location"].endswith(f"/id/gfmd.{expected}")


def test_no_symlink_out_of_the_site(nginx):
    url, _, _ = nginx
    for path in ("leak.txt", "leak/key.txt"):
        status, _, body = fetch(url + path)
        assert status in (403, 404) and b"secret" not in body, path


def test_options_and_cors(nginx):
    url, _, _ = nginx
    status, headers, _ = fetch(url + "sparql", method="OPTIONS")
    assert status == 204 and headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert headers["Access-Control-Allow-Origin"] == "*" and "Content-Type" in headers["Access-Control-Allow-Headers"]
    status, headers, _ = fetch(url + "id/gfmd", method="OPTIONS")
    assert status == 204 and headers["Allow"] == "GET, HEAD, OPTIONS" and headers["Access-Control-Allow-Origin"] == "*"
    query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    status, headers, _ = fetch(url + "sparql?" + query, "application/sparql-results+json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = fetch(url + "id/gfmd", "text/turtle")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("query", SERVICE_QUERIES)
def test_service_is_refused(nginx, query):
    url, _, _ = nginx
    for answer in (
        fetch(url + "sparql?" + urllib.parse.urlencode({"query": query})),
        fetch(url + "sparql", data=query.encode(), content_type="application/sparql-query"),
        fetch(
            url + "sparql",
            data=urllib.parse.urlencode({"query": query}).encode(),
            content_type="application/x-www-form-urlencoded",
        ),
    ):
        status, _, body = answer
        assert status == 400 and b"SERVICE (federated query) is not allowed" in body, body


def test_words_like_service_elsewhere_pass(nginx):
    url, _, _ = nginx
    query = 'SELECT ?service WHERE { BIND("SERVICE <http://127.0.0.1:9/>" AS ?service) } # SERVICE'
    for answer in (
        fetch(url + "sparql?" + urllib.parse.urlencode({"query": query}), "application/sparql-results+json"),
        fetch(
            url + "sparql",
            accept="application/sparql-results+json",
            data=query.encode(),
            content_type="application/sparql-query",
        ),
    ):
        status, _, body = answer
        assert status == 200, body
        assert "SERVICE <http" in json.loads(body)["results"]["bindings"][0]["service"]["value"]


def test_limits_of_the_endpoint(nginx):
    url, _, _ = nginx
    status, _, body = fetch(url + "sparql", data=b"x" * (2 << 20), content_type="application/sparql-query")
    assert status == 413 and b"1 MiB" in body
    status, _, body = fetch(url + "sparql", data=b"x", content_type="text/plain")
    assert status == 415 and b"application/sparql-query" in body


def test_a_slow_query_fails_fast_while_others_are_answered(nginx):
    url, _, _ = nginx
    slow: dict = {}
    simple = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})

    def run_slow():
        began = time.monotonic()
        slow["answer"] = fetch(url + "sparql?" + urllib.parse.urlencode({"query": CARTESIAN}))
        slow["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    status, _, body = fetch(url + "sparql?" + simple, "application/sparql-results+json")
    assert status == 200, body
    thread.join(60)
    status, _, body = slow["answer"]
    assert status == 503 and body.strip(), (status, body)
    assert slow["seconds"] < 30
    assert fetch(url + "sparql?" + simple, "application/sparql-results+json")[0] == 200


def test_citydiplo_backend_stops_a_slow_query(nginx_citydiplo_backend):
    """Behind nginx, `citydiplo serve --sparql-only` stops the cartesian COUNT at its
    limit and kills the worker that ran it; other queries are answered meanwhile."""
    url, backend = nginx_citydiplo_backend
    simple = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    slow: dict = {}

    def run_slow():
        began = time.monotonic()
        slow["answer"] = fetch(url + "sparql?" + urllib.parse.urlencode({"query": CARTESIAN}))
        slow["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    status, headers, body = fetch(url + "sparql?" + simple, "application/sparql-results+json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*", body
    thread.join(60)
    status, _, body = slow["answer"]
    assert status == 503 and f"time limit of {QUERY_SECONDS} s".encode() in body, (status, body)
    assert slow["seconds"] < 12  # the backend's limit, well before nginx's 15 s
    assert fetch(url + "sparql?" + simple, "application/sparql-results+json")[0] == 200
    service = urllib.parse.urlencode({"query": SERVICE})
    assert fetch(url + "sparql?" + service)[0] == 400
    assert backend.poll() is None


def test_rate_limit_answers_429_with_a_message(nginx):
    url, _, _ = nginx
    ask = url + "sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    answers = [fetch_once(ask, "application/sparql-results+json") for _ in range(40)]
    limited = [a for a in answers if a[0] == 429]
    assert limited and all(a[0] in (200, 429) for a in answers)
    _, headers, body = limited[0]
    assert headers["Retry-After"] == "1" and b"too many queries" in body
    time.sleep(2.5)  # let the bucket refill for the next tests
