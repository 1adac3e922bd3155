"""The shipped nginx configuration (conf/nginx/), tested with the real nginx
from Debian: started on a loopback port in a temporary prefix, serving a
built copy of the fixture site at the base IRI's path, stopped at the end."""

from __future__ import annotations

import io
import json
import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from citydiplo.graph.export import export
from citydiplo.site.build import build_site

from .conftest import REPO, make_project, require_tool
from .test_publication import free_port, oxigraph_binary, wait_for
from .test_serve import fetch

NGINX_CONF = REPO / "conf" / "nginx"


def base_path(project) -> str:
    """The URL path the site is hosted at: the base IRI's path (``/citydiplo/``)."""
    return urllib.parse.urlsplit(project.base_iri).path


def nginx_conf(prefix: Path, www: Path, port: int, sparql_port: int) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the (private) temp dir
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
{temp}    include {NGINX_CONF / "citydiplo-http.conf"};
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
    tmp = tmp_path_factory.mktemp("nginx")
    project = make_project(tmp / "repo")
    site = build_site(project, jobs=1, status=io.StringIO())
    export(project)
    www = tmp / "www"
    (www / base_path(project).strip("/")).parent.mkdir(parents=True, exist_ok=True)
    (www / base_path(project).strip("/")).symlink_to(site, target_is_directory=True)

    oxigraph = oxigraph_binary()
    db = tmp / "oxigraph"
    subprocess.run(
        [oxigraph, "load", "--location", str(db), "--file", str(project.build_dir / "dist/citydiplo.nt")],
        check=True,
        capture_output=True,
    )
    sparql_port = free_port()
    backend = subprocess.Popen(
        [oxigraph, "serve-read-only", "--location", str(db), "--bind", f"127.0.0.1:{sparql_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    prefix = tmp / "prefix"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, www, port, sparql_port))
    server = None
    try:
        wait_for(f"http://127.0.0.1:{sparql_port}/query?query=ASK%7B%7D", backend)
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
        url = f"http://127.0.0.1:{port}{base_path(project)}"
        wait_for(url, server)
        yield url, project
    finally:
        for process in (server, backend):
            if process is None:
                continue
            process.terminate()  # nginx: fast shutdown of master and workers
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()


def test_shipped_config_uses_the_base_iri_path(real_project):
    path = base_path(real_project)
    for name in ("citydiplo-site.conf", "citydiplo-sparql.conf"):
        text = (NGINX_CONF / name).read_text()
        locations = [line.split()[-2] for line in text.splitlines() if line.startswith("location")]
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
    url, _ = nginx
    status, headers, body = fetch(url + "id/gfmd", accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media
    assert headers["Vary"] == "Accept"
    assert body.lstrip().lower().startswith(start.lower())
    if media != "text/html":
        assert b"Global Forum on Migration and Development" in body


def test_same_answers_as_citydiplo_serve(nginx):
    """The files nginx sends are the site's own files, byte for byte."""
    url, project = nginx
    site = project.build_dir / "html"
    for accept, suffix in (("text/turtle", "ttl"), ("application/ld+json", "jsonld"), ("text/html", "html")):
        status, headers, body = fetch(url + "id/mayors-mechanism", accept)
        assert status == 200 and body == (site / f"id/mayors-mechanism.{suffix}").read_bytes()
        assert headers["Content-Location"].endswith(f"/id/mayors-mechanism.{suffix}")


def test_terms_ontology_dataset_and_dump(nginx):
    url, project = nginx
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
    url, _ = nginx
    status, _, body = fetch(url)
    assert status == 200 and b"Test handbook" in body
    assert fetch(url.rstrip("/"))[0] == 301
    assert fetch(url + "id/gfmd.html")[0] == 200
    assert fetch(url + "id/no-such-entity", "text/turtle")[0] == 404


def test_sparql_endpoint_behind_nginx_is_read_only(nginx):
    url, _ = nginx
    query = "SELECT ?s WHERE { ?s a <https://w3id.org/citydiplo/def/Forum> }"
    status, _, body = fetch(
        url + "sparql?" + urllib.parse.urlencode({"query": query}), "application/sparql-results+json"
    )
    assert status == 200
    assert [b["s"]["value"] for b in json.loads(body)["results"]["bindings"]] == ["https://w3id.org/citydiplo/id/gfmd"]
    update = "INSERT DATA { <https://example.org/a> <https://example.org/b> <https://example.org/c> }"
    assert fetch(url + "sparql?" + urllib.parse.urlencode({"update": update}))[0] == 403
    assert fetch(url + "sparql", data=update.encode(), content_type="application/sparql-update")[0] == 403
    assert fetch(url + "sparql", data=b"", method="PUT")[0] == 403
