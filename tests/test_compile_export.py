"""compile: one page per entity, written only when changed; export: a
deterministic dump, isomorphic to the sources."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pyoxigraph
import rdflib
from rdflib.compare import isomorphic

from citydiplo.graph.export import derived, description, export, read_triples
from citydiplo.graph.load import load
from citydiplo.graph.query import content_files
from citydiplo.site.compile import compile_vocab

from .conftest import edit


def unescape(page: str) -> str:
    """The page with MyST's backslash escapes removed, for readable assertions."""
    return re.sub(r"\\(.)", r"\1", page)


def compile_once(project):
    return compile_vocab(load(project).graph, project, "en")


def test_entity_pages_and_directories_are_generated(project):
    result = compile_once(project)
    handbook = project.handbook_dir
    names = {p.relative_to(handbook).as_posix() for p in result.written}
    assert {"id/gfmd.md", "id/mayors-mechanism.md", "def/Forum.md", "reference/generated/forums.md"} <= names
    page = unescape((handbook / "id/mayors-mechanism.md").read_text())
    assert page.startswith("---\norphan: true")
    assert "(entity-mayors-mechanism)=" in page  # label differs from the file name
    assert "# Mayors Mechanism" in page
    assert "[International Organization for Migration](../id/iom.md) (co-lead; since 2018)" in page
    assert "[gfmd.org/process/gfmd-mayors-mechanism](<https://gfmd.org/process/gfmd-mayors-mechanism>)" in page
    gfmd = unescape((handbook / "id/gfmd.md").read_text())
    assert "## How local governments take part" in gfmd
    assert "(via [Mayors Mechanism](../id/mayors-mechanism.md))" in gfmd
    # each access option and each membership shows the source it rests on, next to it
    option = next(line for line in gfmd.splitlines() if "(via [Mayors Mechanism]" in line)
    assert option.endswith(
        "are eligible. — Source: [A new role for cities in global and regional migration "
        "governance? (policy paper)](../id/source-policy-paper.md)"
    ), option
    membership = next(line for line in page.splitlines() if "(co-lead; since 2018)" in line)
    assert " — Source" in membership, membership


def test_german_build_uses_german_labels(project):
    compile_vocab(load(project).graph, project, "de")
    page = unescape((project.handbook_dir / "id/gfmd.md").read_text())
    assert "# Globales Forum für Migration und Entwicklung" in page
    assert "## Wie Kommunen teilnehmen können" in page


def test_editing_one_entity_rewrites_only_its_page(project):
    compile_once(project)
    assert compile_once(project).written == []  # nothing changed, nothing written
    edit(project.root / "vocab/data/actors.ttl", "The UN agency for migration.", "The UN migration agency.")
    result = compile_once(project)
    assert [p.relative_to(project.handbook_dir).as_posix() for p in result.written] == ["id/iom.md"]
    assert result.deleted == []


def test_pages_of_removed_entities_are_deleted(project):
    compile_once(project)
    path = project.root / "vocab/data/actors.ttl"
    text = path.read_text()
    start = text.index("cdi:gfmd a cd:Forum")
    path.write_text(text[:start])
    result = compile_once(project)
    deleted = {p.relative_to(project.handbook_dir).as_posix() for p in result.deleted}
    assert "id/gfmd.md" in deleted
    assert not (project.handbook_dir / "id/gfmd.md").exists()


def run_export(project, seed):
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    code = subprocess.run(
        [sys.executable, "-m", "citydiplo.cli", "--root", str(project.root), "export"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert code.returncode == 0, code.stderr
    return (project.build_dir / "dist/citydiplo.ttl").read_bytes(), (
        project.build_dir / "dist/citydiplo.nt"
    ).read_bytes()


def test_dump_is_byte_identical_across_runs(project):
    first = run_export(project, 1)
    second = run_export(project, 2)
    assert first == second


def test_dump_parses_and_is_isomorphic_to_the_sources(project):
    result = export(project)
    ttl = result.directory / "citydiplo.ttl"
    rdflib.NORMALIZE_LITERALS = False
    dumped = rdflib.Graph().parse(ttl, format="turtle")
    assert len(list(pyoxigraph.parse(path=str(ttl), format=pyoxigraph.RdfFormat.TURTLE))) == len(dumped)

    expected = rdflib.Graph()
    for path in sorted(project.vocab_dir.rglob("*.ttl")):
        if "shapes" not in path.parts:
            expected.parse(path, format="turtle")
    triples = read_triples(project)
    # the sources, plus what is derived at export (memberOf, symmetric links) and the description
    raw = [
        q.triple for path in content_files(project) for q in pyoxigraph.parse(path=str(path), base_iri=project.base_iri)
    ]
    assert derived(raw) and set(derived(raw)) <= set(triples)
    extra = derived(raw) + description(project, triples)
    described = pyoxigraph.serialize(extra, format=pyoxigraph.RdfFormat.N_TRIPLES)
    expected.parse(data=described.decode(), format="nt")
    assert isomorphic(dumped, expected)
    assert result.triples == len(set(triples))
    assert result.in_files == len(dumped) > result.triples
    sums = (result.directory / "SHA256SUMS").read_text()
    assert "citydiplo.ttl" in sums and "citydiplo.nt" in sums


def test_entity_pages_use_a_readers_words(project):
    """No database wording on entity pages: a term says which list it is in (not "Type: concept"),
    a list of terms lists its entries once, and every relation seen from its object has a name."""
    for language, words in (
        ("en", ("In the list", "List of terms", "Entries in this list", "Held by")),
        ("de", ("In der Liste", "Begriffsliste", "Einträge dieser Liste", "Ausgeübt von")),
    ):
        compile_vocab(load(project).graph, project, language)
        pages = {
            name: unescape((project.handbook_dir / f"id/{name}.md").read_text())
            for name in ("region-global", "world-regions", "role-co-lead")
        }
        region, scheme, role = pages["region-global"], pages["world-regions"], pages["role-co-lead"]
        assert f"{words[0]}\n: [" in region and "world-regions.md" in region
        assert "\nType" not in region and "\nTyp\n" not in region and "concept" not in region.lower()
        assert f": {words[1]}\n" in scheme
        assert f"## {words[2]}" in scheme and "region-global.md" in scheme
        assert f"{words[3]}\n: " in role and "(../id/iom.md)" in role
        for page in pages.values():
            assert "(inverse)" not in page and "top concept" not in page.lower()


def test_long_incoming_lists_are_grouped_by_kind(project, monkeypatch):
    """A region's page listed ≈ 120 mixed links in one paragraph: past a dozen, the entries of one
    relation are grouped by the directory that lists them, each group counted."""
    from citydiplo.site.compile import Compiler

    monkeypatch.setattr(Compiler, "GROUP_OVER", 0)
    compile_once(project)
    page = unescape((project.handbook_dir / "id/region-global.md").read_text())
    assert "Entries in this region\n: **International organisations" in page
    assert "(1):** [International Organization for Migration](../id/iom.md)" in page
