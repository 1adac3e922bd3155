"""Bytes a reader downloads for a first search (run on demand).

    python tests/benchmarks/search_bytes.py [--site build/html] [--synthetic 5000] [--append]

Serves the built site on loopback, opens ``search.html?q=QUERY`` in Debian's
Chromium (Playwright) with a cold cache for each query, waits for the
results, and adds up every response: as sent (Pagefind's index files are
already compressed) and as a server compressing text with gzip -6 would send
them. Sphinx's search (the old search page) is measured the same way from
the file list it needs (search page, CSS/JS, ``searchindex.js``), without the
whole pages it fetched for snippets.

``--synthetic N`` first copies the site and adds N synthetic entity pages
(an entity page with its names and text replaced by words of the site), then
re-indexes it with Pagefind (which, as in the build, leaves entity pages out)
and adds the new names to the name table, to see how a first query grows
with the size of the graph. With --append the table
is added to tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import json
import random
import re
import shutil
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["Mayors Mechanism", "pledge", "IMRF", "side event", "Global Cities Fund"]
TEXT = re.compile(r"\.(html|js|css|json|svg|txt)$")


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def add_synthetic(site: Path, n: int) -> None:
    """N more entity pages, built from a real one, named in the name table.

    As in the build, entity pages are not in Pagefind's full-text index (no
    ``data-pagefind-body``; ``theme.NAME_TABLE_ONLY``): Pagefind is run again
    over the site and must leave them out; the name table gets their names."""
    sys.path.insert(0, str(ROOT / "tools"))
    from citydiplo.config import load_project
    from citydiplo.site.search import index_site
    from citydiplo.site.theme import CORRECTED_LENGTH, ENDS_DIR, NAMES_DIR, normalise, word_key

    model = (site / "id" / "mayors-mechanism.html").read_text(encoding="utf-8")
    assert "data-pagefind-body" not in model, "entity pages are expected outside Pagefind's index"
    article = model.index('<article role="main"')
    start, end = model.index("<section", article), model.index('<p class="cd-feedback">')
    vocabulary = sorted(set(re.findall(r"\b[a-z]{4,12}\b", re.sub(r"<[^>]+>", " ", model))))
    rng = random.Random(5000)
    shards: dict[str, dict] = {}
    for i in range(n):
        name = f"Synthetic {rng.choice(vocabulary).title()} {rng.choice(vocabulary).title()} {i}"
        body = " ".join(rng.choice(vocabulary) for _ in range(250))
        html = model[:start] + f"<section><h1>{name}</h1><p>{body}</p></section>" + model[end:]
        slug = f"synthetic-{i:05d}"
        (site / "id" / f"{slug}.html").write_text(html, encoding="utf-8")
        # (the name table leaves out the title's own form, as the build does)
        for word in {word_key(w) for w in normalise(name).split() if len(w) > 1}:
            shard = shards.setdefault(word[:2], {"pages": [], "words": {}})
            shard["words"].setdefault(word, []).append(len(shard["pages"]))
            shard["pages"].append([f"id/{slug}.html", name, "Synthetic", []])
    ends: dict[str, dict[str, int]] = {}
    for key, extra in shards.items():
        path = site / NAMES_DIR / f"{key}.json"
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"pages": [], "words": {}}
        offset = len(data["pages"])
        data["pages"] += extra["pages"]
        for word, indices in extra["words"].items():
            data["words"].setdefault(word, []).extend(i + offset for i in indices)
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        for word, indices in data["words"].items():
            if len(word) >= CORRECTED_LENGTH:
                ends.setdefault(word[-2:], {})[word] = len(indices)
    for key, counts in ends.items():
        path = site / NAMES_DIR / ENDS_DIR / f"{key}.json"
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        path.write_text(json.dumps(dict(sorted({**known, **counts}.items())), ensure_ascii=False), encoding="utf-8")
    # the search page lists the name table's files
    search = site / "search.html"
    html = search.read_text(encoding="utf-8")
    heads = " ".join(sorted(p.stem for p in (site / NAMES_DIR).glob("*.json")))
    tails = " ".join(sorted(p.stem for p in (site / NAMES_DIR / ENDS_DIR).glob("*.json")))
    html = re.sub(r'data-names="[^"]*"', f'data-names="{heads}"', html)
    search.write_text(re.sub(r'data-ends="[^"]*"', f'data-ends="{tails}"', html), encoding="utf-8")
    index_site(load_project(ROOT), site, "en")


def serve(site: Path):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def measure(site: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    server, base = serve(site)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        for query in QUERIES:
            context = browser.new_context()
            page = context.new_page()
            responses = []
            page.on("response", lambda response, seen=responses: seen.append(response))
            page.goto(f"{base}search.html?q={quote(query)}")
            page.wait_for_selector(".cd-search-result-link", timeout=30_000)
            page.wait_for_load_state("networkidle")
            sent = compressed = 0
            parts = {"page, CSS, JS": 0, "Pagefind": 0, "name table": 0}
            for response in responses:
                body = response.body()
                size = gz(body) if TEXT.search(response.url.split("?")[0]) else len(body)
                sent += len(body)
                compressed += size
                part = "Pagefind" if "/pagefind/" in response.url else "page, CSS, JS"
                part = "name table" if "/searchnames/" in response.url else part
                parts[part] += size
            rows.append({"query": query, "requests": len(responses), "raw": sent, "gzip": compressed, **parts})
            context.close()
        browser.close()
    server.shutdown()
    return rows


def sphinx_search_bytes(site: Path) -> int:
    files = ["search.html", "searchindex.js", "_static/searchtools.js", "_static/language_data.js"]
    files += ["_static/documentation_options.js", "_static/doctools.js"]  # loaded only by the fallback
    page = (site / "search.html").read_text(encoding="utf-8")
    files += [m for m in re.findall(r'(?:href|src)="(_static/[^"?]+)', page) if m not in files]
    return sum(gz((site / f).read_bytes()) for f in files if (site / f).is_file())


def table(title: str, rows: list[dict], site: Path, sphinx: bool = True) -> str:
    pages = sum(1 for p in site.rglob("*.html") if "pagefind" not in p.parts)
    lines = [
        f"### {title} ({pages} pages)",
        "",
        "| query | requests | as sent | with gzip | of which page, CSS, JS | Pagefind | name table |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['query']} | {r['requests']} | {r['raw'] / 1024:.0f} KB | {r['gzip'] / 1024:.1f} KB "
            f"| {r['page, CSS, JS'] / 1024:.1f} KB | {r['Pagefind'] / 1024:.1f} KB | {r['name table'] / 1024:.1f} KB |"
        )
    if sphinx:  # (the synthetic pages are not in searchindex.js)
        lines.append("")
        lines.append(
            f"Sphinx's own search would first download {sphinx_search_bytes(site) / 1024:.0f} KB with gzip "
            "(search page, CSS/JS and the whole `searchindex.js`), then every hit's page for its snippet."
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "html")
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    report = [table("Today's site", measure(args.site), args.site)]
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "site"
            shutil.copytree(args.site, copy)
            add_synthetic(copy, args.synthetic)
            report.append(table(f"With {args.synthetic} synthetic entity pages", measure(copy), copy, sphinx=False))
    text = f"## Bytes for a first search (`search_bytes.py`), {dt.date.today():%Y-%m-%d}\n\n" + "\n".join(report)
    print(text)
    if args.append:
        with (ROOT / "tests" / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as file:
            file.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
