"""Lighthouse scores for three page types of the built site (run on demand).

    npm install --prefix .cache/lighthouse lighthouse      # once; .cache/ is not committed
    python tests/benchmarks/lighthouse.py [--site build/html] [--runs 3] [--append]

Serves the built site on loopback as a web server would send it (text
compressed with gzip -6, as conf/nginx does), then runs Lighthouse (npm
``lighthouse``, from ``.cache/lighthouse`` or ``$LIGHTHOUSE``) with Debian's
Chromium (``$CHROME_PATH``, default ``/usr/bin/chromium``; headless, no
sandbox) on a content page, an entity page and the search page with a
query, in Lighthouse's mobile setting (a mid-range phone on a slow 4G line,
simulated) and its desktop preset. Each figure is the median of ``--runs``
runs. With --append the table is added to tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import mimetypes
import os
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "content page": "modules/imrf/getting-in.html",
    "entity page": "id/mayors-mechanism.html",
    "search page": "search.html?q=pledge",
}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "first-contentful-paint": ("FCP", 1000, "s"),
    "largest-contentful-paint": ("LCP", 1000, "s"),
    "total-blocking-time": ("TBT", 1, "ms"),
    "cumulative-layout-shift": ("CLS", 1, ""),
    "total-byte-weight": ("bytes", 1024, "KB"),
}
COMPRESSED = {"text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"}


def serve(site: Path) -> ThreadingHTTPServer:
    """The site on 127.0.0.1, text gzip-compressed when the client accepts it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = (site / unquote(urlparse(self.path).path).lstrip("/")).resolve()
            if path.is_dir():
                path = path / "index.html"
            if not path.is_relative_to(site.resolve()) or not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            if kind in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", ""):
                data = gzip.compress(data, 6)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "max-age=3600")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    mimetypes.add_type("application/wasm", ".wasm")
    mimetypes.add_type("text/javascript", ".js")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def lighthouse(binary: Path, url: str, preset: str) -> dict:
    command = [
        str(binary),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report.get("runtimeError"):
        raise SystemExit(f"lighthouse: {url}: {report['runtimeError']}")
    out = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    for audit, (name, scale, _) in METRICS.items():
        out[name] = report["audits"][audit]["numericValue"] / scale
    out["failed"] = sorted(
        a["id"]
        for a in report["audits"].values()
        if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") in ("binary", "metricSavings")
    )
    return out


def median_of(runs: list[dict]) -> dict:
    out = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "failed"}
    out["failed"] = sorted({a for run in runs for a in run["failed"]})
    return out


def table(results: dict, runs: int, pages: int) -> str:
    lines = [
        f"## Lighthouse (`lighthouse.py`), {dt.date.today().isoformat()}",
        "",
        f"The English site ({pages} pages) served on loopback with gzip, Lighthouse "
        f"{version()} driving Debian's Chromium (headless). Median of {runs} runs per row. *Mobile* is "
        "Lighthouse's default (a mid-range phone on a slow 4G line, simulated throttling); *desktop* its "
        "desktop preset. Scores out of 100: performance, accessibility, best practices, SEO.",
        "",
        "| page | setting | perf. | access. | best pr. | SEO | FCP | LCP | TBT | CLS | bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, preset), r in results.items():
        lines.append(
            f"| {name} (`{PAGES[name]}`) | {preset} | {r['performance']:.0f} | {r['accessibility']:.0f} "
            f"| {r['best-practices']:.0f} | {r['seo']:.0f} | {r['FCP']:.1f} s | {r['LCP']:.1f} s "
            f"| {r['TBT']:.0f} ms | {r['CLS']:.3f} | {r['bytes']:.0f} KB |"
        )
    failed = sorted({a for r in results.values() for a in r["failed"]})
    lines += ["", "Audits below 0.9 in any run: " + (", ".join(f"`{a}`" for a in failed) or "none") + "."]
    return "\n".join(lines) + "\n"


def version() -> str:
    package = default_binary().parents[1] / "lighthouse" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "(version unknown)"


def default_binary() -> Path:
    return Path(os.environ.get("LIGHTHOUSE", ROOT / ".cache/lighthouse/node_modules/.bin/lighthouse"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build/html")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--presets", default="mobile,desktop")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args(argv)
    binary = default_binary()
    if not binary.is_file():
        raise SystemExit(f"{binary}: not found; install it: npm install --prefix .cache/lighthouse lighthouse")
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"{args.site}: no built site (run citydiplo build)")
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_port}/"
    results = {}
    try:
        for name, path in PAGES.items():
            for preset in args.presets.split(","):
                runs = [lighthouse(binary, base + path, preset) for _ in range(args.runs)]
                results[(name, preset)] = median_of(runs)
                r = results[(name, preset)]
                print(
                    f"{name:13} {preset:8} perf {r['performance']:.0f} a11y {r['accessibility']:.0f} "
                    f"bp {r['best-practices']:.0f} seo {r['seo']:.0f} LCP {r['LCP']:.1f} s TBT {r['TBT']:.0f} ms "
                    f"({', '.join(r['failed']) or 'no failed audits'})",
                    flush=True,
                )
    finally:
        server.shutdown()
    pages = sum(1 for _ in args.site.rglob("*.html"))
    text = table(results, args.runs, pages)
    print(text)
    if args.append:
        results_md = ROOT / "tests/benchmarks/RESULTS.md"
        results_md.write_text(results_md.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
