"""Bad input that only a Sphinx build finds, and builds that are stopped,
run twice at once or rebuilt: all on the small test project (tests/roots/,
tests/data/), so each build takes seconds. The last good ``build/`` stays
complete in every case."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import TESTS, make_project
from .corpus import check, line_of, run, tree_digest

INDEX = "handbook/index.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The test project with the course-pack glossary, built once with its dump."""
    root = tmp_path_factory.mktemp("built") / "repo"
    make_project(root)
    shutil.copytree(TESTS / "data" / "coursepack" / "vocab", root / "vocab", dirs_exist_ok=True)
    from citydiplo.cli import main

    assert main(["--root", str(root), "build", "-j", "1"]) == 0
    return root


@pytest.fixture
def copy(built, tmp_path):
    """A private copy of the built project, output included."""
    root = tmp_path / "repo"
    shutil.copytree(built, root, symlinks=True)
    return root


def outputs(root: Path) -> tuple[str, str]:
    return tree_digest(root / "build" / "html"), tree_digest(root / "build" / "dist")


def add_to_index(root: Path, text: str, end: bool = False) -> int:
    """Insert ``text`` after the index page's title (or at its end); returns its first line."""
    path = root / INDEX
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = len(lines) if end else next(i for i, line in enumerate(lines) if line.startswith("# ")) + 1
    lines[at:at] = ["\n", text if text.endswith("\n") else text + "\n"]
    path.write_text("".join(lines), encoding="utf-8")
    return at + 2


# ------------------------------------------------- problems Sphinx finds
@pytest.mark.parametrize(
    "text, fragment",
    [
        ("See {entity}`no-such-actor`.", "no-such-actor"),
        ("```{query} no-such-query\n```", "no-such-query"),
        ("```python\nprint('the rest of the page is code')\n", "is never closed"),
        ("```\nSECRET: trainer text\n", "is never closed"),
        (":::{note}\nA note that never ends.\n", "is never closed"),
    ],
    ids=["unknown-slug", "unknown-query", "unclosed-code-fence", "unclosed-plain-fence", "unclosed-colon-fence"],
)
def test_page_problem_is_located_and_build_kept(text, fragment, copy, capsys):
    before = outputs(copy)
    line = add_to_index(copy, text, end="never" in fragment)
    outcome = run(capsys, ["--root", str(copy), "build", "-j", "1"])
    check(outcome, 1, f"{INDEX}:{line}", fragment, "was left as it was")
    assert outputs(copy) == before


def test_toctree_loop_is_located(copy, capsys):
    before = outputs(copy)
    (copy / "handbook" / "loop.md").write_text(
        "---\nlast_reviewed: 2026-11-22\n---\n# Loop\n\n```{toctree}\nindex\n```\n", encoding="utf-8"
    )
    path = copy / INDEX
    path.write_text(path.read_text().replace("reference/generated/*\n", "reference/generated/*\nloop\n"))
    outcome = run(capsys, ["--root", str(copy), "build", "-j", "1"])
    check(outcome, 1, "handbook/loop.md:7", "makes a loop (index → loop → index)")
    assert outputs(copy) == before


def test_broken_query_is_reported_at_the_rq_file(copy, capsys):
    before = outputs(copy)
    rq = "vocab/queries/co-leads-of-mayors-mechanism.rq"
    path = copy / rq
    path.write_text(path.read_text().replace("ORDER BY ?orgLabel", "ORDER BY ?orgLabel LIMIT x"))
    line = line_of(copy, rq, "LIMIT x")
    outcome = run(capsys, ["--root", str(copy), "build", "-j", "1"])
    check(outcome, 1, f"{rq}:{line}", "SPARQL syntax error")
    assert "queries.md" not in outcome.text
    assert outputs(copy) == before


# -------------------------------------------------------------- rebuilds
def stable_outputs(root: Path) -> tuple[str, str]:
    return tree_digest(root / "build" / "html", skip=("pagefind",)), tree_digest(root / "build" / "dist")


def test_no_change_rebuild_equals_clean_build(copy, capsys):
    clean_stable = stable_outputs(copy)
    index = (copy / "build" / "html" / "searchindex.js").read_text(encoding="utf-8")
    entries = json.loads(re.search(r"Search\.setIndex\((.*)\)", index, re.S).group(1))["indexentries"]
    assert {"pledge", "troika", "zusage"} <= set(entries)  # the glossary's terms
    clean = outputs(copy)
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    # byte for byte, Pagefind's index included (it is kept when its pages are unchanged)
    assert outputs(copy) == clean
    assert stable_outputs(copy) == clean_stable


def test_a_build_exports_the_dump_once(copy, capsys, monkeypatch):
    """The HTML build writes the dump into the site when vocab/ changed; build/dist is a copy of it,
    not a second export."""
    from citydiplo.graph import export as export_module
    from citydiplo.site import publish

    calls = []

    def counted(original):
        def wrapper(*args, **kwargs):
            calls.append(args[1] if len(args) > 1 else kwargs.get("out"))
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(publish, "BACKGROUND", False)  # the calls are counted in this process
    monkeypatch.setattr(publish, "export", counted(publish.export))
    monkeypatch.setattr(export_module, "export", counted(export_module.export))
    glossary = copy / "vocab" / "concepts" / "glossary.ttl"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace('"Side event"@en', '"Side meeting"@en'), "utf-8")
    site, dist = copy / "build" / "html" / "dist", copy / "build" / "dist"
    # vocab/ changed: one export, into the site; build/dist is a copy of it
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert len(calls) == 1, calls
    assert "Side meeting" in (dist / "citydiplo.ttl").read_text(encoding="utf-8")
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        assert (dist / path.relative_to(site)).read_bytes() == path.read_bytes(), path
    # vocab/ unchanged: the site keeps the dump it has (publish.MANIFEST), nothing is exported
    before = tree_digest(dist)
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert len(calls) == 1, calls
    assert tree_digest(dist) == before


def test_a_rebuild_validates_again_only_what_changed(copy, capsys, monkeypatch):
    """vocab/ as the last successful build saw it is not validated again; any change to it is, and
    a violation the change brings in still stops the build with its place."""
    from citydiplo.site import build

    checked = []
    real = build.validate
    monkeypatch.setattr(build, "validate", lambda vocab, **kw: checked.append(1) or real(vocab, **kw))
    # the copy's build/ comes from a build of the same vocab/ (in another folder): not checked again
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert checked == []
    (copy / "build" / build.VALID_STAMP).unlink()
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert checked == [1]
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert checked == [1]
    glossary = copy / "vocab" / "concepts" / "glossary.ttl"
    text = glossary.read_text(encoding="utf-8")
    glossary.write_text(text.replace('skos:prefLabel "Pledge"@en', 'skos:prefLabel "Pledge"@en, "Promise"@en'), "utf-8")
    before = outputs(copy)
    outcome = run(capsys, ["--root", str(copy), "build", "-j", "1"])
    assert outcome.code == 1 and checked == [1, 1]
    assert "glossary.ttl:" in outcome.err
    assert outputs(copy) == before


def test_a_rebuild_that_fails_at_the_end_leaves_the_linked_previous_output_alone(copy):
    """A rebuild starts from a copy of the previous output whose pages and RDF files are hard
    links (build.is_linked): every page Sphinx writes again must be a new file, so that a build
    that fails after writing leaves the previous output byte for byte as it was."""
    import dataclasses
    import io

    from citydiplo.config import load_project
    from citydiplo.site.build import BuildError, build_site

    add_to_index(copy, "A paragraph that changes the home page.")
    glossary = copy / "vocab" / "concepts" / "glossary.ttl"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace('"Side event"@en', '"Side meeting"@en'), "utf-8")
    before = outputs(copy)
    home = copy / "build" / "html" / "index.html"
    assert home.stat().st_nlink == 1
    project = dataclasses.replace(load_project(copy), build_dir=copy / "build")
    seen = {}

    def fail(site):
        seen["home"] = (site / "index.html").read_text(encoding="utf-8")
        seen["links"] = sum(1 for p in site.rglob("*.html") if p.stat().st_nlink > 1)
        raise BuildError("stopped on purpose after writing")

    with pytest.raises(BuildError):
        build_site(project, jobs=1, status=io.StringIO(), before_swap=fail)
    assert "A paragraph that changes the home page." in seen["home"]  # written, into a new file
    assert seen["links"] > 0  # the pages Sphinx did not write again were linked, not copied
    assert outputs(copy) == before
    assert "A paragraph that changes" not in home.read_text(encoding="utf-8")


def test_removed_entity_leaves_no_page(copy, capsys):
    html = copy / "build" / "html" / "id"
    assert (html / "term-troika.html").is_file() and (html / "term-troika.ttl").is_file()
    path = copy / "vocab" / "concepts" / "glossary.ttl"
    text = path.read_text(encoding="utf-8")
    text = text.replace(" , cdi:term-troika", "")
    text = text[: text.index("cdi:term-troika a skos:Concept")]
    path.write_text(text, encoding="utf-8")
    check(run(capsys, ["--root", str(copy), "build", "-j", "1"]), 0, None, "site written to")
    assert not list(html.glob("term-troika.*"))
    assert (html / "term-pledge.html").is_file()
    assert not (copy / "handbook" / "id" / "term-troika.md").exists()


# ---------------------------------------------- interrupted and parallel
def citydiplo(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "citydiplo.cli", "--root", str(root), "build", "-j", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # A shell that starts the suite in the background ignores SIGINT, and
        # the child would inherit that: give it the default, as a terminal does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_builds_keep_the_previous_output(sig, copy):
    """Stop a build at several points; each time build/ holds the previous
    complete output (or, if the build got to the end first, the new one)."""
    add_to_index(copy, "A new paragraph, so that the build has something to write.")
    before = outputs(copy)
    finished = None
    stopped = 0
    for delay in (0.0, 1.0, 2.5):
        proc = citydiplo(copy)
        # Once Sphinx has started (its first status line): the interpreter and
        # the package are loaded, and the vocabulary validated.
        assert proc.stdout.readline()
        time.sleep(delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in out + err, err
        # the build got to the end (the signal came while the process was exiting,
        # or while it removed the previous copy after the swap, before it said so)
        now = outputs(copy)
        swapped = now != before and "A new paragraph" in (copy / "build/html/index.html").read_text(encoding="utf-8")
        if proc.returncode == 0 or "site written to" in out + err or swapped:
            finished = now
            break
        stopped += 1
        if sig == signal.SIGINT:
            assert proc.returncode in (1, 130), err
            assert "interrupted" in err or "failed" in err, err
        assert outputs(copy) == before, f"output changed after a stop at {delay} s"
        assert (copy / "build" / "html" / "index.html").is_file()
    assert stopped >= 1  # at least one stop came before the end of the build
    proc = citydiplo(copy)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    html, dist = outputs(copy)
    sums = (copy / "build" / "html" / "dist" / "SHA256SUMS").read_bytes()
    assert sums == (copy / "build" / "dist" / "SHA256SUMS").read_bytes()  # site and dump of one build
    assert finished is None or finished == (html, dist)
    assert not list((copy / "build").glob("*.tmp")) and not list((copy / "build").glob("*.old"))


def test_two_builds_at_once(copy):
    """Two builds started while a third holds the lock: each says it waits,
    then they run one after the other and both end well."""
    from citydiplo.files import build_lock

    add_to_index(copy, "Another paragraph for the concurrent builds.")
    with build_lock(copy / "build"):
        first, second = citydiplo(copy), citydiplo(copy)
        for proc in (first, second):
            line = proc.stderr.readline()
            assert "another build is writing" in line and "waiting for it to finish" in line, line
    results = [p.communicate(timeout=300) for p in (first, second)]
    for proc, (out, err) in zip((first, second), results, strict=True):
        assert "Traceback" not in out + err, err
        assert proc.returncode == 0, err
    assert (copy / "build" / "html" / "index.html").is_file()
    assert "Another paragraph" in (copy / "build" / "html" / "index.html").read_text(encoding="utf-8")
    sums = (copy / "build" / "html" / "dist" / "SHA256SUMS").read_bytes()
    assert sums == (copy / "build" / "dist" / "SHA256SUMS").read_bytes()


def test_a_build_waits_for_another_build_reading_the_same_handbook(copy):
    """Builds of one handbook into different build/ folders (the site and a
    course pack, or two test workers) each compile their generated pages into
    handbook/ and read them: the second waits until the first has finished."""
    from citydiplo.files import BuildLocked, source_lock

    add_to_index(copy, "A paragraph written while another build reads the handbook.")
    handbook = copy / "handbook"
    before = tree_digest(handbook)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from citydiplo.files import source_lock\n"
            "with source_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.readline()",
            str(handbook),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = r"another build is reading .*handbook"
        with pytest.raises(BuildLocked, match=busy), source_lock(handbook, wait=False):
            pass
        proc = citydiplo(copy)
        line = proc.stderr.readline()
        assert "another build is reading" in line and "handbook" in line and "waiting for it to finish" in line, line
        # nothing was compiled into handbook/ while the other build held it
        assert tree_digest(handbook) == before
        assert proc.poll() is None
        holder.stdin.write("release\n")
        holder.stdin.flush()
        out, err = proc.communicate(timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert "A paragraph written while" in (copy / "build" / "html" / "index.html").read_text(encoding="utf-8")
    with source_lock(handbook, wait=False), source_lock(handbook, wait=False):  # free again; re-entrant
        pass
