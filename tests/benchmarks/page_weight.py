"""Transfer weight of one built page: its HTML plus the CSS and JS it loads.

Run on demand (not part of the test suite):

    python tests/benchmarks/page_weight.py build/html/modules/imrf/getting-in.html

Sizes are gzip level 6, as a web server would send them; fonts, if any, as-is.
Results are recorded in tests/benchmarks/RESULTS.md.
"""

from __future__ import annotations

import gzip
import re
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


def main(argv: list[str]) -> int:
    for arg in argv or ["build/html/index.html"]:
        result = weigh(Path(arg))
        print(f"{arg}")
        for kind, name, raw, packed in result["rows"]:
            print(f"  {kind:5} {name:40} {raw / 1024:8.1f} KB raw {packed / 1024:7.1f} KB gzip")
        print(f"  total {result['raw'] / 1024:.1f} KB raw, {result['gzip'] / 1024:.1f} KB gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
