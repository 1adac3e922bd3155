"""Work done in a forked process while this one goes on (on a second core).

Two jobs use it:

- a build's RDF files and dump (:class:`citydiplo.site.publish.SiteFiles`)
  depend only on ``vocab/``, not on any page, so a fork writes them while
  Sphinx reads and writes the pages (≈ 15 s off the critical path at 5,000
  entities);
- validation runs SHACL in a fork while this process makes the other checks
  (:func:`citydiplo.graph.validate.validate`).

The fork inherits what is loaded (copy-on-write); it sends its result, or
the exception it raised, back through a pipe, and ends with ``os._exit`` so
that nothing of the parent (buffers, ``atexit``) runs twice.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Any


class BackgroundError(RuntimeError):
    """The forked process failed in a way that cannot be passed back as its own exception."""


def available() -> bool:
    """Whether forking helps here: a system with ``fork`` and more than one core."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Forked:
    """``fn(*args)`` run in a forked process; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., Any], *args: Any):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read)
            code = 0
            try:
                gc.freeze()  # the inherited objects are not walked (and not copied) by the child's collector
                payload = pickle.dumps((True, fn(*args)))
            except BaseException as exc:
                code = 1
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:
                    payload = pickle.dumps((False, BackgroundError(traceback.format_exc())))
            try:
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self._read = pid, read

    def result(self) -> Any:
        """The function's value (its exception is raised here)."""
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if not data:
            raise BackgroundError(f"the background process ended without a result (wait status {status})")
        ok, value = pickle.loads(data)
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        """Stop the process and forget its result (the build failed)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self._read)
        os.waitpid(self.pid, 0)
