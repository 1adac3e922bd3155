"""Scale benchmark: the handbook with N synthetic entities added (run on demand).

    python tests/benchmarks/scale.py [--sizes 0,5000,20000] [--no-baseline] [--jobs auto] [--write]
                                     [--route myst|collect]

For each N: copies the repository (without build/, .venv, .git and the
generated pages) into a temporary folder, adds ``vocab/data/synthetic.ttl``
with N synthetic entities (``synth.py``), and times, each in a fresh process
under ``/usr/bin/time`` (wall clock and peak RSS of the largest process):

- ``citydiplo validate``;
- a full ``citydiplo build`` (site + dump), a no-op rebuild, and a rebuild after
  editing one entity's English and German labels (the city with the most
  referrers); then checks the site is consistent: no HTML page shows the old
  label and every page that showed it shows the new one;
- ``citydiplo export``; the size of ``searchindex.js``;
- baselines of the same run: plain ``sphinx-build -j auto`` (default theme) of
  the same generated pages, and rdflib parsing + serialising the data
  (Turtle and N-Triples).

Prints a Markdown table and, with ``--write``, puts it into the "Scale"
section of ``tests/benchmarks/RESULTS.md`` (with the date and the machine's
load average, which matters: the machine is shared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402

BIN = Path(sys.executable).parent
CITYDIPLO = [str(BIN / "citydiplo")] if (BIN / "citydiplo").exists() else [sys.executable, "-m", "citydiplo.cli"]
EXCLUDE = {".git", "build", ".venv", "venv", ".pytest_cache", ".ruff_cache", "__pycache__"}
GENERATED = ("handbook/id", "handbook/def", "handbook/reference/generated")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def load() -> str:
    return os.getloadavg().__repr__()


def copy_repo(dest: Path) -> Path:
    """The repository without outputs, caches and generated pages."""

    def skip(info: tarfile.TarInfo):
        parts = Path(info.name).parts
        if any(p in EXCLUDE for p in parts) or any(info.name.startswith("./" + g) for g in GENERATED):
            return None
        return info

    archive = dest / "repo.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(ROOT, arcname=".", filter=skip)
    target = dest / "repo"
    target.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink()
    return target


def timed(cmd: list[str], cwd: Path, log: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time; wall seconds, peak RSS (MiB), exit code."""
    stats = log.with_suffix(".time")
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-o", str(stats), "-f", "%e %M", *cmd],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    wall = time.perf_counter() - start
    try:
        _elapsed, rss = stats.read_text().split()[-2:]
        rss_mib = round(int(rss) / 1024)
    except (OSError, ValueError):  # killed, or time(1) printed only a notice
        rss_mib = None
    return {"s": round(wall, 1), "mib": rss_mib, "rc": proc.returncode, "log": str(log)}


LINK_RE = re.compile(r'<a\s[^>]*href="([^"#]*)(?:#[^"]*)?"[^>]*>(.*?)</a>', re.S)
H1_RE = re.compile(r"<h1>(.*?)</h1>", re.S)
TAG_RE = re.compile(r"<[^>]+>")


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(TAG_RE.sub("", fragment)).replace("\u00b6", "").split())


def shown_names(site: Path, slug: str) -> dict[str, set[str]]:
    """Per page: the texts of its links to the entity's page (and the entity page's own title)."""
    found: dict[str, set[str]] = {}
    own = f"id/{slug}.html"
    for page in site.rglob("*.html"):
        rel = str(page.relative_to(site))
        text = page.read_text(encoding="utf-8", errors="replace")
        names = {text_of(label) for href, label in LINK_RE.findall(text) if href.rsplit("/", 1)[-1] == f"{slug}.html"}
        if rel == own:
            names |= {text_of(h) for h in H1_RE.findall(text)}
        if names:
            found[rel] = names
    return found


def pick_entity(repo: Path, synthetic: bool) -> tuple[Path, str, dict[str, str]]:
    """The city with the most referrers: its file, slug and labels (en, de)."""
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDF, SKOS

    graph = Graph()
    files = sorted((repo / "vocab" / "data").rglob("*.ttl"))
    for path in files:
        graph.parse(path, format="turtle")
    cd = "https://w3id.org/citydiplo/def/"
    cities = [c for c in graph.subjects(RDF.type, URIRef(cd + "LocalGovernment")) if ("/syn-" in str(c)) == synthetic]

    def labels(c):
        return {v.language: str(v) for v in graph.objects(c, SKOS.prefLabel) if v.language in ("en", "de")}

    cities = [c for c in cities if len(set(labels(c).values())) == 2]  # en and de differ: a clean text check
    best = max(sorted(cities, key=str), key=lambda c: len(set(graph.subjects(None, c))))
    slug = str(best).rsplit("/", 1)[-1]
    path = next(p for p in files if re.search(rf"^cdi:{re.escape(slug)}\b", p.read_text(encoding="utf-8"), re.M))
    return path, slug, labels(best)


def rename(path: Path, slug: str, old: dict[str, str], new: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"^cdi:{re.escape(slug)}\b", text, re.M).start()
    end = text.find("\ncdi:", start + 1)
    end = len(text) if end < 0 else end
    block = text[start:end]
    for lang in ("en", "de"):
        needle = f'"{old[lang]}"@{lang}'
        assert needle in block, (slug, needle)
        block = block.replace(needle, f'"{new[lang]}"@{lang}', 1)
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")


BASELINE_CONF = """
extensions = ["myst_parser", "sphinx_design"]
myst_enable_extensions = ["attrs_block", "attrs_inline", "colon_fence", "deflist", "fieldlist", "tasklist"]
myst_heading_anchors = 3
suppress_warnings = ["myst", "ref", "toc"]
"""

MYST_PAGES = """
import sys
from citydiplo.config import load_project
from citydiplo.graph.load import load
from citydiplo.site.compile import compile_vocab
project = load_project(sys.argv[1])
compile_vocab(load(project).graph, project)
"""

RDFLIB_BASELINE = """
import sys, time
from pathlib import Path
from rdflib import Graph
repo = Path(sys.argv[1])
t = time.perf_counter()
g = Graph()
for p in sorted((repo / "vocab").rglob("*.ttl")):
    if "shapes" not in p.parts:
        g.parse(p, format="turtle")
parse = time.perf_counter() - t
t = time.perf_counter(); g.serialize(format="turtle"); ttl = time.perf_counter() - t
t = time.perf_counter(); g.serialize(format="nt"); nt = time.perf_counter() - t
print(f"{len(g)} {parse:.2f} {ttl:.2f} {nt:.2f}")
"""


def set_route(repo: Path, route: str) -> None:
    """How the copy makes its entity and term pages (``citydiplo_entity_route``)."""
    conf = repo / "conf" / "conf.py"
    text = conf.read_text(encoding="utf-8")
    text, count = re.subn(r'(?m)^citydiplo_entity_route = "\w+"', f'citydiplo_entity_route = "{route}"', text)
    assert count == 1, "conf/conf.py sets citydiplo_entity_route once"
    conf.write_text(text, "utf-8")


def run_size(n: int, work: Path, jobs: str, baseline: bool, label: str = "", route: str = "collect") -> dict:
    res: dict = {"n": n, "label": label, "route": route, "load_before": load()}
    repo = copy_repo(work)
    set_route(repo, route)
    logs = work / "logs"
    logs.mkdir()
    cli = [*CITYDIPLO, "--root", str(repo)]
    # measure the code of the copy (a snapshot), even if the checkout changes meanwhile
    env = {**os.environ, "PYTHONPATH": str(repo / "tools")}
    t = time.perf_counter()
    if n:
        graph = synth.generate(n, repo)
        synth.write(graph, repo / "vocab" / "data" / "synthetic.ttl")
        res["triples_synthetic"] = len(graph)
    res["generate_s"] = round(time.perf_counter() - t, 1)
    res["validate"] = timed([*cli, "validate", "-q"], repo, logs / "validate.log", env)
    res["full"] = timed([*cli, "build", "-j", jobs], repo, logs / "full.log", env)
    site = repo / "build" / "html"
    res["pages"] = sum(1 for _ in site.rglob("*.html"))
    res["entity_pages"] = sum(1 for _ in (site / "id").glob("*.html"))
    res["noop"] = timed([*cli, "build", "-j", jobs], repo, logs / "noop.log", env)

    path, slug, old = pick_entity(repo, synthetic=bool(n))
    new = {"en": old["en"] + " Renamed", "de": old["de"] + " Umbenannt"}
    # prose that names the entity in its own words ({entity}`Athens <athens>`) keeps them
    explicit = {
        str(md.relative_to(repo / "handbook").with_suffix(".html"))
        for md in (repo / "handbook").rglob("*.md")
        if f"<{slug}>`" in md.read_text(encoding="utf-8")
    }
    before = {page for page, names in shown_names(site, slug).items() if old["en"] in names} - explicit
    rename(path, slug, old, new)
    res["edit"] = timed([*cli, "build", "-j", jobs], repo, logs / "edit.log", env)
    shown = shown_names(site, slug)
    stale = {page for page, names in shown.items() if old["en"] in names} - explicit
    after = {page for page, names in shown.items() if new["en"] in names}
    res["edit_check"] = {
        "entity": slug,
        "pages_showing_label": len(before),
        "pages_still_showing_old": len(stale),
        "pages_with_own_title": len(explicit),
        "pages_missing_new": len(before - after),
        "consistent": bool(before) and not stale and before <= after,
    }
    res["export"] = timed([*cli, "export"], repo, logs / "export.log", env)
    index = site / "searchindex.js"
    res["searchindex_kib"] = round(index.stat().st_size / 1024) if index.exists() else None

    if baseline:
        src = work / "baseline"
        # the generated MyST pages (the myst route; the collect route makes no id/ or def/ sources)
        subprocess.run(
            [sys.executable, "-c", MYST_PAGES, str(repo)], env=env, check=True, capture_output=True, text=True
        )
        for folder in GENERATED:
            shutil.copytree(repo / folder, src / Path(folder).relative_to("handbook"))
        (src / "conf.py").write_text(BASELINE_CONF, encoding="utf-8")
        (src / "index.md").write_text("# Generated pages\n", encoding="utf-8")
        res["generated_sources"] = sum(1 for _ in src.rglob("*.md"))
        res["sphinx_plain"] = timed(
            [str(BIN / "sphinx-build"), "-q", "-j", jobs, "-b", "html", str(src), str(work / "baseline-out")],
            work,
            logs / "sphinx-plain.log",
        )
        script = work / "rdflib_baseline.py"
        script.write_text(RDFLIB_BASELINE, encoding="utf-8")
        res["rdflib"] = timed([sys.executable, str(script), str(repo)], work, logs / "rdflib.log")
        line = (logs / "rdflib.log").read_text().split()
        if len(line) >= 4:
            numbers = dict(triples=int(line[0]), parse_s=float(line[1]), ttl_s=float(line[2]), nt_s=float(line[3]))
            res["rdflib"].update(numbers)
    res["load_after"] = load()
    return res


def fmt(step: dict | None, mem: bool = False) -> str:
    if not step:
        return "–"
    text = f"{step['s']:.1f} s" if step["rc"] == 0 else f"failed ({step['rc']})"
    return text + (f" ({step['mib']} MiB)" if mem else "")


def table(results: list[dict]) -> str:
    rows = [
        "| entities (real + synthetic) | validate | full build (peak) | no-op rebuild | one label edited "
        "(pages showing it; consistent?) | export | search index | plain sphinx-build of the same "
        "generated pages (peak) | rdflib parse / Turtle / N-Triples | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        check = r["edit_check"]
        edit = f"{fmt(r['edit'])} ({check['pages_showing_label']}; {'yes' if check['consistent'] else 'NO'})"
        rd = r.get("rdflib") or {}
        rdflib_text = f"{rd['parse_s']} / {rd['ttl_s']} / {rd['nt_s']} s" if "parse_s" in rd else "–"
        before = ", ".join(f"{x:.1f}" for x in eval_load(r["load_before"]))
        after = ", ".join(f"{x:.1f}" for x in eval_load(r["load_after"]))
        rows.append(
            f"| 510 + {r['n']:,}{' ' + r['label'] if r.get('label') else ''}"
            f"{', route ' + r['route'] if r.get('route') else ''} ({r['entity_pages']:,} entity pages, "
            f"{r['pages']:,} in all) | {fmt(r['validate'])} "
            f"| {fmt(r['full'], True)} | {fmt(r['noop'])} | {edit} | {fmt(r['export'])} "
            f"| {r['searchindex_kib']:,} KiB | {fmt(r.get('sphinx_plain'), True)} | {rdflib_text} "
            f"| {before} → {after} |"
        )
    return "\n".join(rows)


def eval_load(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", text))


def write_results(results: list[dict], note: str) -> None:
    text = RESULTS.read_text(encoding="utf-8")
    section = f"## Scale (`scale.py`), {dt.date.today()}\n\n{note}\n\n{table(results)}\n"
    text = re.sub(r"\n## Scale \(`scale\.py`\).*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,5000", help="synthetic entities to add, comma-separated")
    parser.add_argument("--jobs", default="auto")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    parser.add_argument("--note", default="", help="text put above the table")
    parser.add_argument("--label", default="", help="what code is measured (shown in the table)")
    parser.add_argument("--route", default="collect", choices=("myst", "collect"), help="citydiplo_entity_route")
    parser.add_argument("--from-json", type=Path, nargs="*", help="only print (and --write) earlier results")
    args = parser.parse_args(argv)
    if args.from_json:
        results = [r for path in args.from_json for r in json.loads(path.read_text(encoding="utf-8"))]
        print(table(results))
        if args.write:
            write_results(results, args.note)
        return 0
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"citydiplo-scale-{n}-"))
        print(f"[{dt.datetime.now():%H:%M:%S}] {n} synthetic entities in {work} (load {load()})", flush=True)
        try:
            res = run_size(n, work, args.jobs, not args.no_baseline, args.label, args.route)
        finally:
            if not args.keep:
                shutil.rmtree(work / "repo", ignore_errors=True)
                shutil.rmtree(work / "baseline", ignore_errors=True)
                shutil.rmtree(work / "baseline-out", ignore_errors=True)
        print(json.dumps(res, indent=1), flush=True)
        results.append(res)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table(results))
    if args.write:
        write_results(results, args.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
