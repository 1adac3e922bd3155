"""Shared fixtures: a small, real project in a temporary folder."""

from __future__ import annotations

import dataclasses
import fcntl
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from citydiplo.config import load_project
from citydiplo.site.build import build_site

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def make_project(root: Path, handbook: Path = TESTS / "roots" / "test-basic"):
    """Copy the real conf/, ontology and shapes, plus the fixture vocab and handbook."""
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("ontology", "shapes"):
        shutil.copytree(REPO / "vocab" / part, root / "vocab" / part)
    shutil.copytree(TESTS / "data" / "vocab", root / "vocab", dirs_exist_ok=True)
    shutil.copytree(handbook, root / "handbook")
    return load_project(root)


def set_entity_route(project, route: str) -> None:
    """Choose how the project's entity and term pages are made: "myst" or
    "collect" (``citydiplo_entity_route`` in its conf/conf.py)."""
    conf = project.conf_dir / "conf.py"
    text = conf.read_text(encoding="utf-8")
    text, count = re.subn(r'^citydiplo_entity_route = "\w+"$', f'citydiplo_entity_route = "{route}"', text, flags=re.M)
    assert count == 1, conf
    conf.write_text(text, "utf-8")


def entity_route(project) -> str:
    """The route the project's conf/conf.py chooses for entity and term pages."""
    text = (project.conf_dir / "conf.py").read_text(encoding="utf-8")
    return re.search(r'^citydiplo_entity_route = "(\w+)"$', text, flags=re.M).group(1)


@pytest.fixture
def project(tmp_path):
    """A fresh copy of the fixture project; tests may break it freely."""
    return make_project(tmp_path / "repo")


@pytest.fixture(scope="session")
def real_project():
    return load_project(REPO)


# ------------------------------------------- builds shared by parallel workers
# The README's test command runs the suite in two processes (pytest-xdist,
# one test file per worker). The real handbook's sites are built once for the
# whole run, not once per worker: the first worker that needs a site builds it
# into one shared folder, holding a lock; the others wait for it and reuse it.
SHARED_ENV = "CITYDIPLO_TEST_SHARED"


#: What ``pytest -m 'not slow'`` leaves out, so that an author's loop stays
#: under a minute: every test that builds a site, a course pack, a book or
#: slides, drives a browser, an nginx or a server process, or needs one of the
#: real handbook's builds. CI runs them all.
SLOW_FIXTURES = {"browser", "page", "real_build", "english_site", "german_site", "served_sites"}
SLOW_FILES = {
    "badinput/test_build.py",
    "test_citymap.py",
    "test_collect_route.py",
    "test_coursepack.py",
    "test_epub.py",
    "test_escaping.py",
    "test_nginx.py",
    "test_publication.py",
    "test_serve.py",
    "test_slides.py",
    "test_sphinxext.py",
}


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).parent
    for item in items:
        try:
            rel = item.path.relative_to(tests).as_posix()
        except ValueError:
            continue
        if rel in SLOW_FILES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    """In the main process only: make the shared folder the workers inherit."""
    if hasattr(config, "workerinput") or os.environ.get(SHARED_ENV):
        return
    shared = Path(tempfile.mkdtemp(prefix="citydiplo-tests-"))
    shared.chmod(0o755)  # world-readable: linkchecker drops root privileges to 'nobody'
    os.environ[SHARED_ENV] = str(shared)
    config._citydiplo_shared = shared


def pytest_unconfigure(config):
    shared = getattr(config, "_citydiplo_shared", None)
    if shared is not None:
        shutil.rmtree(shared, ignore_errors=True)
        os.environ.pop(SHARED_ENV, None)


def shared_folder() -> Path:
    return Path(os.environ[SHARED_ENV])


def built_once(name: str, make: Callable[[], Path]) -> Path:
    """``make()`` run once per test run, whichever worker asks first; its result is remembered."""
    done = shared_folder() / f"{name}.done"
    with open(shared_folder() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return Path(done.read_text(encoding="utf-8"))
        result = make()
        done.write_text(str(result), encoding="utf-8")
        return result


@pytest.fixture(scope="session")
def real_build(real_project):
    """The real project, building into a temporary folder (shared by the workers) instead of build/."""
    build_dir = shared_folder() / "build"
    build_dir.mkdir(exist_ok=True)
    build_dir.chmod(0o755)
    return dataclasses.replace(real_project, build_dir=build_dir)


@pytest.fixture(scope="session")
def german_site(real_build):
    """The real handbook's German edition, built once per test run."""
    return built_once("german-site", lambda: build_site(real_build, language="de", status=io.StringIO()))


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of ``old`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def require_tool(name: str, why: str) -> str:
    """The path of an external tool; skip the test without it, except in CI.

    CI installs every tool in .ci/apt-packages.txt, so there a missing tool is
    a failure, not a skip.
    """
    import os

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({why}); CI installs it from .ci/apt-packages.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


# --------------------------------------------------- the built sites, served
# (for the browser and markup tests: tests/test_browser.py, tests/test_markup.py)
@pytest.fixture(scope="session")
def english_site(real_build):
    """The real handbook's English edition (with its Pagefind index), built once per test run."""
    return built_once("english-site", lambda: build_site(real_build, status=io.StringIO()))


@pytest.fixture(scope="session")
def served_sites(english_site, german_site):
    """Both editions over HTTP on loopback, as conf/citydiplo.toml deploys them:
    English at ``/``, German at ``/de/``. Yields the base URL."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            if path.startswith("/de/"):
                self.directory, path = str(german_site), path[3:]
            else:
                self.directory = str(english_site)
            return super().translate_path(path)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(english_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`'s download)."""
    executable = require_tool("chromium", "the browser tests drive Debian's Chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is in the test extra: pip install -e '.[test]'"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def npm_package(name: str) -> Path:
    """A folder installed by `npm install --prefix .cache/npm` (.ci/run does it); skip without it, except in CI."""
    import os

    root = Path(os.environ.get("CITYDIPLO_NPM_PREFIX", REPO / ".cache" / "npm")) / "node_modules" / name
    if not root.is_dir():
        message = (
            f"npm package {name} is not installed in {root.parent} "
            "(.ci/run installs it: npm install --prefix .cache/npm)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture
def page(browser):
    """A fresh browser page that records console errors and uncaught exceptions in ``page.errors``."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(f"console: {msg.text}"))
    yield page
    context.close()


def browser_dom(url: str, why: str, budget_ms: int = 1000) -> str:
    """The DOM of ``url`` after its scripts ran, read from headless Chromium
    (``--dump-dom``); skipped without Chromium, except in CI."""
    import subprocess

    chromium = require_tool("chromium", why)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--virtual-time-budget={budget_ms}", "--dump-dom"]
    done = subprocess.run([chromium, *flags, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
