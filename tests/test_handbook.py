"""Build the real handbook under -nW, in both editions, and check the output."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest

from citydiplo.build import build_site
from citydiplo.export import export

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(real_project, tmp_path_factory):
    project = dataclasses.replace(real_project, build_dir=tmp_path_factory.mktemp("build"))
    participant = build_site(project, status=io.StringIO())
    trainer = build_site(project, edition="trainer", status=io.StringIO())
    return project, participant, trainer


def test_site_and_dump_are_built(built):
    project, participant, _ = built
    assert (participant / "index.html").is_file()
    assert (participant / "id" / "mayors-mechanism.html").is_file()
    result = export(project)
    assert (result.directory / "citydiplo.ttl").stat().st_size > 0


def trainer_blocks(path):
    return len(re.findall(r"^:{3,}\{trainer-note\}", path.read_text(encoding="utf-8"), re.M))


def test_trainer_notes_only_in_trainer_edition(built):
    project, participant, trainer = built
    pages = sorted(project.handbook_dir.glob("modules/**/*.md"))
    with_notes = [p for p in pages if trainer_blocks(p)]
    assert with_notes, "the modules should have trainer notes"
    for page in with_notes:
        html = page.relative_to(project.handbook_dir).with_suffix(".html")
        in_trainer = (trainer / html).read_text().count('class="admonition trainer-note"')
        in_participant = (participant / html).read_text().count("trainer-note")
        assert in_trainer == trainer_blocks(page), html
        assert in_participant == 0, html
