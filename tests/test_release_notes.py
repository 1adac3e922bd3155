"""The release notes page (reference/generated/release-notes): the data
changelog against the latest earlier release kept in the repository
(vocab/releases/<version>/), computed at each build, the same as `citydiplo diff`."""

from __future__ import annotations

import gzip
import io
import re
from contextlib import redirect_stderr, redirect_stdout

import pytest

from citydiplo.cli import main
from citydiplo.graph.diff import DiffError, diff_triples, previous_release, read_dump
from citydiplo.graph.export import dump_graph, export
from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView
from citydiplo.site.compile import Compiler


def notes(project, lang: str = "en") -> str:
    return Compiler(GraphView(load(project).graph, project, lang)).release_notes_page()


def test_the_real_notes_match_citydiplo_diff_of_the_dumps(real_project):
    release = previous_release(real_project)
    assert release is not None and release.parent.name == "releases"
    assert release.name != real_project.version
    # the whole published dump, as `citydiplo diff dist/<release> build/dist` reads it
    expected = diff_triples(real_project, read_dump(release), dump_graph(real_project))
    assert expected.added and expected.changed
    page = notes(real_project)
    counts = f"{len(expected.added)} added\\, {len(expected.removed)} removed\\, {len(expected.changed)} changed\\."
    assert counts in page
    assert f"## Added ({len(expected.added)})" in page and f"## Changed ({len(expected.changed)})" in page
    codes = re.findall(r"^- .* `((?:cd|cdi):[A-Za-z0-9-]+)`", page, re.M)
    want = [c.iri for c in expected.added + expected.removed + expected.changed]
    assert len(codes) == len(want)
    assert f"`citydiplo diff {release.relative_to(real_project.root).as_posix()} build/dist`" in page
    # this branch's own changes are in it
    assert "[Fund or campaign](../../def/FundOrCampaign.md) `cd:FundOrCampaign`" in page
    assert "`cdi:berlin-integration-commissioner`: `rdf:type`" in page or "berlin-integration-commissioner" in page


def test_a_long_section_lists_its_first_entries_and_says_how_to_get_all(real_project, monkeypatch):
    """A section lists at most Compiler.RELEASE_ROWS entries, keeps the total in its heading
    and points to the command that lists them all (thousands of new entries were a page no
    one reads, and seconds of every build)."""
    expected = diff_triples(real_project, read_dump(previous_release(real_project)), dump_graph(real_project))
    monkeypatch.setattr(Compiler, "RELEASE_ROWS", 5)
    page = notes(real_project)
    added = page[page.index("## Added") :].split("\n## ", 1)[0]
    assert f"## Added ({len(expected.added)})" in added
    assert len(re.findall(r"^- ", added, re.M)) == 5
    assert f"Only the first 5 of {len(expected.added)} are listed here\\." in added
    assert "Hier stehen nur die ersten 5 von" in notes(real_project, "de")


def test_the_german_notes_are_in_german(real_project):
    page = notes(real_project, "de")
    assert "# Versionshinweise" in page and "## Hinzugefügt (" in page and "## Geändert (" in page


def test_without_an_earlier_release_the_page_says_how_to_keep_one(project):
    assert previous_release(project) is None
    page = notes(project)
    assert "No earlier release is kept" in page and "## Added" not in page
    assert "`build/dist/<version>/`" in page  # code, not a raw <version> tag


def test_latest_earlier_release_is_compared_and_hostile_labels_escaped(project):
    dist = project.vocab_dir / "releases"
    export(project, project.build_dir / "old")
    nt = (project.build_dir / "old" / "citydiplo.nt").read_bytes()
    hostile = (
        f"<{project.id_ns}gone-network> <http://www.w3.org/2004/02/skos/core#prefLabel> "
        '"[click](javascript:alert(1)) <script>x</script> {eval-rst}`x`"@en .\n'
    ).encode()
    for version, data in (("0.0.1", nt), ("0.0.9+abc1234", nt + hostile), (project.version, b"")):
        (dist / version).mkdir(parents=True)
        if data:
            (dist / version / "citydiplo.nt.gz").write_bytes(gzip.compress(data, mtime=0))
    assert previous_release(project).name == "0.0.9+abc1234"
    page = notes(project)
    assert "0 added\\, 1 removed\\, 0 changed\\." in page
    line = next(line for line in page.splitlines() if "gone-network" in line)
    assert "<script>" not in line and "](javascript" not in line and "{eval-rst}`" not in line
    assert "\\[click\\]" in line


def test_a_broken_release_dump_is_a_clear_error(project):
    folder = project.vocab_dir / "releases" / "0.0.1"
    folder.mkdir(parents=True)
    (folder / "citydiplo.nt.gz").write_bytes(b"not gzip")
    with pytest.raises(DiffError, match=r"citydiplo\.nt\.gz: cannot read"):
        read_dump(folder)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--root", str(project.root), "diff", str(folder), str(folder)])
    assert code == 1 and "cannot read" in err.getvalue() and "Traceback" not in err.getvalue()
