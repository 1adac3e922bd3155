"""Writing output without damaging it: a file or a folder is either the old
one or the complete new one, never half written; one build at a time per
``build/`` folder and per source folder; and the digest of this package's code, by which a build
knows that what an older version wrote must be written again."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = ".lock"


#: What the package is made of besides its data: code, templates, UI strings.
CODE_SUFFIXES = (".py", ".toml", ".j2", ".html", ".css", ".js")


def code_digest() -> str:
    """A digest of this package's code, templates and strings: what other
    code wrote is written again."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix in CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def write_if_changed(path: Path, content: str | bytes) -> bool:
    """Write ``content`` to ``path`` through a temporary file, unless the file
    already holds exactly that; returns whether it was written. The temporary
    file is named for the process, so that two processes writing the same
    file (two editions of a pack built side by side) never share it."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``);
    False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def recover_dir(target: Path) -> None:
    """After a crash between the two renames of :func:`replace_dir`, put the
    previous complete folder (``<target>.old``) back in place."""
    old = target.with_name(target.name + ".old")
    if not target.exists() and old.is_dir():
        old.rename(target)


def link_or_copy_tree(source: Path, target: Path, linked: Callable[[str], bool]) -> None:
    """Copy the folder ``source`` to ``target`` (which must not exist), with
    the files for which ``linked(relative POSIX path)`` is true as hard links
    instead of copies (symbolic links stay links).

    A hard link shares the file with ``source``: whoever writes into the copy
    must replace such a file (write a new file and rename it, or delete it
    first), never open it for writing, or the source changes as well. The
    site's build does so for every file it links (:mod:`citydiplo.site.build`).
    Where hard links are not possible (another file system), the file is copied.

    One ``scandir`` per folder and no path objects per file: a site of
    thousands of entries has tens of thousands of files (``shutil.copytree``
    with a copy function took ≈ 1 s more at 30,000)."""

    def walk(src: str, dst: str, prefix: str) -> None:
        os.mkdir(dst)
        with os.scandir(src) as entries:
            for entry in entries:
                rel, to = prefix + entry.name, os.path.join(dst, entry.name)
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), to)
                elif entry.is_dir():
                    walk(entry.path, to, rel + "/")
                else:
                    if linked(rel):
                        try:
                            os.link(entry.path, to)
                            continue
                        except OSError:
                            pass
                    shutil.copy2(entry.path, to)
        shutil.copystat(src, dst)

    walk(os.fspath(source), os.fspath(target), "")


def replace_dir(new: Path, target: Path, swapped: Callable[[Path], None] | None = None) -> None:
    """Put the complete folder ``new`` in the place of ``target`` (which may
    not exist). On Linux the two are exchanged atomically; elsewhere the old
    folder is moved aside first, and :func:`recover_dir` restores it if the
    process dies before the new one is in place. ``target`` always holds a
    complete output (the old or the new one) for every reader but that
    window, and no crash loses the previous output. ``swapped(target)`` is
    called once the new folder is in place, before the old one is removed."""
    old = target.with_name(target.name + ".old")
    recover_dir(target)
    shutil.rmtree(old, ignore_errors=True)
    if target.is_dir() and not target.is_symlink() and _exchange(new, target):
        if swapped is not None:
            swapped(target)
        shutil.rmtree(new, ignore_errors=True)  # now the previous output
        return
    if target.exists():
        target.rename(old)
    new.rename(target)
    if swapped is not None:
        swapped(target)
    shutil.rmtree(old, ignore_errors=True)


class BuildLocked(Exception):
    """Another process holds the lock of the ``build/`` folder (or of the sources)."""


_held: dict[str, int] = {}
_held_lock = threading.Lock()


@contextlib.contextmanager
def build_lock(build_dir: Path, wait: bool = True, notify=None) -> Iterator[None]:
    """Hold the lock of ``build_dir`` (``fcntl.flock`` on ``build/.lock``).

    One build writes a ``build/`` folder at a time. A second build waits for
    the first one to finish (``notify`` is called once, with a message, when
    it has to wait), or raises :class:`BuildLocked` with ``wait=False``. The
    lock is released when the process ends, however it ends. Re-entrant
    within one process.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(build_dir / LOCK_NAME, f"another build is writing {build_dir}", wait, notify):
        yield


@contextlib.contextmanager
def source_lock(source_dir: Path, wait: bool = True, notify=None) -> Iterator[None]:
    """Hold the lock of a Sphinx source folder (``handbook/``) while Sphinx
    reads it: ``fcntl.flock`` on the folder itself, so nothing is written into it.

    Every build compiles the pages generated from the graph into
    ``handbook/`` before Sphinx reads them, and builders differ in what they
    write there (the website links entity pages that only it writes; the print
    and EPUB builders write them as MyST pages). Two builds of one handbook
    into different ``build/`` folders (a course pack and the site, or two test
    workers) must therefore not overlap, or one reads the other's pages:
    a second one waits (``notify`` and ``wait`` as for :func:`build_lock`).
    """
    with _exclusive(source_dir, f"another build is reading {source_dir}", wait, notify):
        yield


@contextlib.contextmanager
def _exclusive(path: Path, busy: str, wait: bool, notify) -> Iterator[None]:
    """``flock`` on ``path``: a lock file (created; it records the holder's
    pid) or a folder. Re-entrant within one process."""
    key = str(path.resolve())
    with _held_lock:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_lock:
                _held[key] -= 1
        return
    folder = path.is_dir()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY) if folder else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = "" if folder else os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            message = f"{busy} (pid {holder})" if holder else busy
            if not wait:
                raise BuildLocked(message) from None
            if notify:
                notify(f"{message}; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            if not folder:
                raise
            # a file system that cannot lock a folder (some network file
            # systems): the build goes on without the lock, as it did before it
        if not folder:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        with _held_lock:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_lock:
                _held.pop(key, None)
    finally:
        os.close(fd)  # closing releases the lock
