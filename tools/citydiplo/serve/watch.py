"""``citydiplo serve --watch``: a preview that follows the author's edits.

A thread looks at ``handbook/``, ``vocab/`` and ``conf/`` every
:data:`POLL` seconds (``os.scandir`` and ``stat``: names, sizes and
modification times; no new dependency). When something has changed it waits
until nothing has changed for :data:`SETTLE` seconds, so a burst of saves (an
editor that writes a file in two steps, a search-and-replace over ten files)
is one rebuild, then rebuilds the site with :func:`citydiplo.site.build.build_site`:
incremental (Sphinx re-reads the pages whose source or graph data changed),
under the build lock, and swapped in whole only when it succeeds. The server
keeps answering meanwhile, from the folder that holds the last good build.

A failed rebuild prints its errors as ``path:line: …`` (Sphinx's warnings,
the vocabulary's problems) and a line saying the last good build is still
served; the preview goes on watching, and the next save tries again. What
the build itself writes below the watched folders (the pages generated from
the graph, the course packs' root pages, compiled catalogues) is not
watched, so a build never triggers the next one.

After a rebuild the SPARQL endpoint is given the new dump (a new pool of
query workers; the old one is closed once no query can still be running on
it), and :attr:`Preview.generation` goes up: a page open in a browser asks
for it (``/.citydiplo/generation``, see :mod:`.server`) and reloads itself.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Project
from ..paths import UnsafePath
from ..print.coursepack import PACK_SOURCE_DIR
from ..site.build import BuildError, build_site
from ..site.compile import GENERATED_DIRS

#: Seconds between two looks at the sources.
POLL = 0.5
#: Seconds without a further change before a rebuild starts (debounce).
SETTLE = 0.4
#: Names that are never sources: editors' swap and backup files, compiled files.
SKIPPED_SUFFIXES = (".mo", ".pyc", ".swp", ".swx", ".swo", ".tmp", "~")
SKIPPED_NAMES = {"__pycache__", "4913"}  # vim writes "4913" to test a folder


def watched(project: Project) -> list[Path]:
    """The folders whose files a build reads."""
    return [project.handbook_dir, project.vocab_dir, project.conf_dir]


def written_by_the_build(project: Project) -> set[str]:
    """Folders below the watched ones that the build writes itself."""
    folders = [project.handbook_dir / folder for folder in (*GENERATED_DIRS, PACK_SOURCE_DIR)]
    return {os.fspath(folder) for folder in folders}


def snapshot(project: Project) -> dict[str, tuple[int, int]]:
    """Every watched file: path → (size, modification time in ns)."""
    skipped = written_by_the_build(project)
    files: dict[str, tuple[int, int]] = {}
    stack = [os.fspath(folder) for folder in watched(project)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith((".", "#")) or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.path not in skipped:
                            stack.append(entry.path)
                    elif entry.is_file():
                        stat = entry.stat()
                        files[entry.path] = (stat.st_size, stat.st_mtime_ns)
                except OSError:  # removed while we looked
                    continue
    return files


def changes(before: dict, after: dict) -> list[str]:
    """The paths added, removed or changed between two snapshots."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


class Watcher:
    """Calls ``on_change(paths)`` in its own thread once the sources have
    changed and settled; one call at a time (edits made during a rebuild are
    seen when it has finished, and start the next one)."""

    def __init__(
        self,
        project: Project,
        on_change: Callable[[list[str]], None],
        poll: float = POLL,
        settle: float = SETTLE,
    ):
        self.project = project
        self.on_change = on_change
        self.poll = poll
        self.settle = settle
        self.stopped = threading.Event()
        self.baseline = snapshot(project)
        self.thread = threading.Thread(target=self.run, name="citydiplo-watch", daemon=True)

    def start(self) -> Watcher:
        self.thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    def settled(self, seen: dict) -> dict | None:
        """``seen``, or what the sources became, once nothing changed for ``settle`` seconds; None when stopped."""
        while not self.stopped.wait(self.settle):
            later = snapshot(self.project)
            if later == seen:
                return seen
            seen = later
        return None

    def run(self) -> None:
        while not self.stopped.wait(self.poll):
            seen = snapshot(self.project)
            if seen == self.baseline:
                continue
            seen = self.settled(seen)
            if seen is None:
                return
            changed = changes(self.baseline, seen)
            # what changes while on_change runs differs from ``seen``: the next look finds it
            self.baseline = seen
            if changed:
                self.on_change(changed)


def say(message: str) -> None:
    # one write per line: the server's threads log requests to the same stream
    sys.stderr.write(f"citydiplo: {message}\n")
    sys.stderr.flush()


class Preview:
    """The rebuilds of a watched preview: build the site, report, tell the server."""

    def __init__(
        self,
        project: Project,
        edition: str = "participant",
        language: str | None = None,
        jobs: int = 1,
        on_built: Callable[[], None] | None = None,
    ):
        self.project = project
        self.edition = edition
        self.language = language
        # One Sphinx process: the build runs in a thread beside the server's
        # threads, where forking Sphinx's parallel workers is not safe.
        self.jobs = jobs
        self.on_built = on_built
        #: successful builds since the preview started (pages poll it to reload)
        self.generation = 0
        self.failures = 0
        self.last_seconds = 0.0

    def swapped(self, _site: Path) -> None:
        """The new build is in place: open pages may reload (before the old copy is removed)."""
        self.generation += 1

    def build(self, changed: list[str] | None = None) -> bool:
        """Build the site; True when it succeeded (then it is served), False
        when it failed (the errors are printed; the last good build stays)."""
        from ..site.publish import SITE_DUMPS, dump_key

        if changed:
            shown = ", ".join(self.project.rel(Path(p)) for p in changed[:3])
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            say(f"{shown}{more} changed: rebuilding")
        started = time.perf_counter()

        def forget_dump(site: Path) -> None:  # the site's dump is not copied to build/dist here
            SITE_DUMPS.pop(dump_key(site), None)

        try:
            out = build_site(
                self.project,
                edition=self.edition,
                language=self.language,
                jobs=self.jobs,
                status=io.StringIO(),
                before_swap=forget_dump,
                notify=say,
                after_swap=self.swapped,
            )
        except BuildError as exc:
            self.failures += 1
            say(f"rebuild failed: {exc}; still serving the last good build")
            return False
        except (UnsafePath, OSError, UnicodeDecodeError) as exc:
            self.failures += 1
            where = getattr(exc, "filename", None)
            what = f"{self.project.rel(Path(where))}: " if where else ""
            say(f"rebuild failed: {what}{exc}; still serving the last good build")
            return False
        except Exception as exc:  # the preview must outlive anything a rebuild meets
            self.failures += 1
            say(f"rebuild stopped by an internal error ({type(exc).__name__}: {exc}); still serving the last build")
            return False
        self.last_seconds = time.perf_counter() - started
        say(f"rebuilt {self.project.rel(out)}/ in {self.last_seconds:.1f} s")
        if self.on_built is not None:
            try:
                self.on_built()
            except Exception as exc:  # the pages are served; only the SPARQL endpoint keeps the old graph
                say(f"the SPARQL endpoint keeps the previous graph: {type(exc).__name__}: {exc}")
        return True
