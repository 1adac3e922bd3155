"""Build the real handbook under -nW, in both editions, and check the output."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from citydiplo.graph.export import export
from citydiplo.site.build import build_site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(real_build, english_site):
    participant = english_site
    trainer = build_site(real_build, edition="trainer", status=io.StringIO())
    return real_build, participant, trainer


def test_site_and_dump_are_built(built):
    project, participant, _ = built
    assert (participant / "index.html").is_file()
    assert (participant / "id" / "mayors-mechanism.html").is_file()
    result = export(project)
    assert (result.directory / "citydiplo.ttl").stat().st_size > 0
    # the English edition is the source: no page carries the "not yet translated" note
    noted = [p for p in participant.rglob("*.html") if "citydiplo-untranslated" in p.read_text(encoding="utf-8")]
    assert not noted, noted[:5]


def trainer_blocks(path):
    return len(re.findall(r"^:{3,}\{trainer-note\}", path.read_text(encoding="utf-8"), re.M))


def test_trainer_notes_only_in_trainer_edition(built):
    project, participant, trainer = built
    pages = sorted(project.handbook_dir.glob("modules/**/*.md"))
    with_notes = [p for p in pages if trainer_blocks(p)]
    assert with_notes, "the modules should have trainer notes"
    for page in with_notes:
        html = page.relative_to(project.handbook_dir).with_suffix(".html")
        in_trainer = (trainer / html).read_text().count('class="trainer-note admonition"')
        in_participant = (participant / html).read_text().count("trainer-note")
        assert in_trainer == trainer_blocks(page), html
        assert in_participant == 0, html


def test_no_broken_links(built):
    _, participant, _ = built
    for path in participant.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    linkchecker = Path(sys.executable).with_name("linkchecker")
    result = subprocess.run(
        [str(linkchecker), "--no-status", "--no-warnings", "--threads", "4", str(participant / "index.html")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stdout[-5000:]


def test_german_edition_builds(german_site):
    assert german_site.name == "html-de"
    page = (german_site / "id" / "gfmd.html").read_text()
    assert "Globales Forum für Migration und Entwicklung" in page
    assert "Wie Kommunen teilnehmen können" in page
