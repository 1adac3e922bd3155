"""Transfer weight of one built page: its HTML plus the CSS and JS it loads.

Run on demand (not part of the test suite):

    python tests/benchmarks/page_weight.py build/html/modules/imrf/getting-in.html
    python tests/benchmarks/page_weight.py --site build/html [--append]   # every page: median and spread

Sizes are gzip level 6, as a web server would send them; fonts, if any, as-is.
Results are recorded in tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import statistics
import sys
from pathlib import Path
from urllib.parse import urlparse


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def assets(page: Path, html: str) -> list[Path]:
    refs = re.findall(r'<link[^>]+rel="(?:stylesheet|preload)"[^>]+href="([^"]+)"', html)
    refs += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="(?:stylesheet|preload)"', html)
    refs += re.findall(r'<script[^>]+src="([^"]+)"', html)
    found = []
    for ref in dict.fromkeys(refs):
        if urlparse(ref).scheme:
            continue
        path = (page.parent / urlparse(ref).path).resolve()
        if path.is_file():
            found.append(path)
    return found


def weigh(page: Path) -> dict:
    html = page.read_text(encoding="utf-8")
    rows = [("page", page.name, page.stat().st_size, gz(page.read_bytes()))]
    for path in assets(page, html):
        data = path.read_bytes()
        kind = "css" if path.suffix == ".css" else "js"
        rows.append((kind, path.name, len(data), gz(data)))
    return {"rows": rows, "raw": sum(r[2] for r in rows), "gzip": sum(r[3] for r in rows)}


def site_table(site: Path) -> str:
    """Median and spread of the first-view weight over every HTML page of a built site."""
    cache: dict[Path, int] = {}

    def first_view(page: Path) -> tuple[int, int]:
        html = page.read_text(encoding="utf-8")
        extra = 0
        for path in assets(page, html):
            if path not in cache:
                cache[path] = gz(path.read_bytes())
            extra += cache[path]
        own = gz(page.read_bytes())
        return own, own + extra

    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    weights = {p.relative_to(site).as_posix(): first_view(p) for p in pages}
    own = sorted(w[0] for w in weights.values())
    total = sorted(w[1] for w in weights.values())
    heaviest = sorted(weights.items(), key=lambda kv: -kv[1][1])[:3]

    def kb(n: float) -> str:
        return f"{n / 1024:.1f} KB"

    def quantile(values: list[int], q: float) -> float:
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    lines = [
        f"## Median page weight (`page_weight.py --site`), {dt.date.today().isoformat()}",
        "",
        f"Every HTML page of `{site.as_posix()}` ({len(pages)} pages), cold cache, gzip -6: the page itself and "
        "the CSS and JS it loads (the first view of the site; later pages reuse the cached CSS and JS).",
        "",
        "| | median | 90th percentile | largest |",
        "|---|---|---|---|",
        f"| HTML alone | {kb(statistics.median(own))} | {kb(quantile(own, 0.9))} | {kb(own[-1])} |",
        f"| with CSS + JS | {kb(statistics.median(total))} | {kb(quantile(total, 0.9))} | {kb(total[-1])} |",
        "",
        "Heaviest: " + ", ".join(f"`{name}` ({kb(w[1])})" for name, w in heaviest) + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--site"]:
        text = site_table(Path(argv[1]))
        print(text)
        if "--append" in argv:
            results = Path(__file__).with_name("RESULTS.md")
            results.write_text(results.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return 0
    for arg in argv or ["build/html/index.html"]:
        result = weigh(Path(arg))
        print(f"{arg}")
        for kind, name, raw, packed in result["rows"]:
            print(f"  {kind:5} {name:40} {raw / 1024:8.1f} KB raw {packed / 1024:7.1f} KB gzip")
        print(f"  total {result['raw'] / 1024:.1f} KB raw, {result['gzip'] / 1024:.1f} KB gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
