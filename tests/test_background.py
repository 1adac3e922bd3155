"""The forked writer of a build's RDF files and dump (citydiplo.background, publish.SiteFiles)."""

from __future__ import annotations

import os
import threading

import pytest

from citydiplo import background
from citydiplo.graph.export import ExportError
from citydiplo.site import publish

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def pid_and(value):
    return os.getpid(), value


def raises(message):
    raise ExportError(message)


def raises_unpicklable():
    class Local(Exception):  # a class defined in a function does not pickle
        pass

    raise Local("no pickle")


def test_the_result_comes_from_another_process():
    job = background.Forked(pid_and, {"a": [1, 2]})
    pid, value = job.result()
    assert pid != os.getpid() and value == {"a": [1, 2]}


def test_the_exception_is_raised_in_the_parent():
    with pytest.raises(ExportError, match="bad data"):
        background.Forked(raises, "bad data").result()
    with pytest.raises(background.BackgroundError, match="no pickle"):
        background.Forked(raises_unpicklable).result()


def test_cancel_stops_the_process():
    event = threading.Event()
    job = background.Forked(event.wait, 60)  # would block for a minute
    job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)  # reaped: no such child any more


def test_site_files_in_the_background_equal_those_written_here(project, tmp_path, monkeypatch):
    """The same files, manifest and recorded dump; the forked writer is not used when nothing changed."""
    monkeypatch.setattr(background, "available", lambda: True)
    forked, here = tmp_path / "forked", tmp_path / "here"
    pending = publish.SiteFiles(project, forked)
    assert pending.job is not None
    result = pending.result()
    assert result.written and publish.SITE_DUMPS[publish.dump_key(forked)].files == result.dump.files
    publish.write_site_files(project, here)
    files = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(forked) for p in forked.rglob("*") if p.is_file())
    for rel in files:
        assert (forked / rel).read_bytes() == (here / rel).read_bytes(), rel
    again = publish.SiteFiles(project, forked)
    assert again.job is None and again.result().written == []
