"""load() maps subjects to file:line; validate() reports problems there."""

from __future__ import annotations

from rdflib import URIRef

from citydiplo.cli import main
from citydiplo.graph.load import load
from citydiplo.graph.validate import errors, validate

from .conftest import edit

ACTORS = "vocab/data/actors.ttl"


def line_of(path, text):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_origins_point_at_subject_blocks(project):
    vocab = load(project)
    origin = vocab.origins[URIRef(project.id_ns + "mayors-mechanism")]
    assert origin.path == project.root / ACTORS
    assert origin.line == line_of(origin.path, "cdi:mayors-mechanism a cd:Initiative")
    assert origin.end_line > origin.line


def test_fixture_is_valid(project):
    assert errors(validate(load(project))) == []


def test_syntax_error_names_file_and_line(project, capsys):
    path = project.root / ACTORS
    edit(path, '"A worldwide network', '"A worldwide network\n    broken')
    problems = errors(validate(load(project)))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.path == ACTORS
    assert problem.line == line_of(path, "A worldwide network") or problem.line == line_of(path, "broken")
    assert "Turtle syntax error" in problem.message
    assert main(["--root", str(project.root), "validate"]) == 1
    out = capsys.readouterr()
    assert f"{ACTORS}:{problem.line}:" in out.out
    assert "Traceback" not in out.out + out.err


def test_shacl_violation_names_entity_line_property_and_message(project, capsys):
    path = project.root / ACTORS
    edit(path, ', "Mayors Migration Council"@de ;', " ;")  # drop MMC's German label
    assert main(["--root", str(project.root), "validate"]) == 1
    out = capsys.readouterr().out
    line = line_of(path, 'skos:prefLabel "Mayors Migration Council"@en')
    expected = f"{ACTORS}:{line}: cdi:mmc: skos:prefLabel: "
    assert expected in out
    assert "Needs exactly one skos:prefLabel in German (@de)." in out


def test_dangling_reference_names_the_line_that_refers(project, capsys):
    path = project.root / ACTORS
    edit(path, "cd:initiatedBy cdi:iom ,", "cd:initiatedBy cdi:iom-typo ,")
    assert main(["--root", str(project.root), "validate"]) == 1
    out = capsys.readouterr().out
    line = line_of(path, "cdi:iom-typo")
    assert f"{ACTORS}:{line}: cdi:mayors-mechanism: refers to cdi:iom-typo, but no entity" in out


def test_wrong_project_prefix_is_an_error(project):
    path = project.root / ACTORS
    edit(path, "@prefix cdi: <https://w3id.org/citydiplo/id/> .", "@prefix cdi: <https://example.org/id/> .")
    messages = [str(p) for p in errors(validate(load(project)))]
    assert any("prefix cdi: is <https://example.org/id/>" in m for m in messages)


def test_entity_written_twice_is_an_error(project):
    path = project.root / "vocab/data/sources.ttl"
    block = (project.root / ACTORS).read_text().split("cdi:gfmd a cd:Forum")[1]
    path.write_text(
        path.read_text() + "\ncdi:gfmd a cd:Forum" + block.replace("cdi:route-constituency", "cdi:route-constituency")
    )
    messages = [str(p) for p in errors(validate(load(project)))]
    assert any("cdi:gfmd: is already written at vocab/data/actors.ttl" in m for m in messages)


def test_blank_node_violation_maps_to_its_entity(project, capsys):
    path = project.root / ACTORS
    edit(path, "cd:route cdi:route-constituency-mechanism ;", "")  # access option without route
    assert main(["--root", str(project.root), "validate"]) == 1
    out = capsys.readouterr().out
    assert "cdi:gfmd: cd:route: An access option needs exactly one cd:route" in out


def test_stale_facts_are_notices_not_errors(project):
    import datetime as dt

    problems = validate(load(project), today=dt.date(2028, 1, 1))
    stale = [p for p in problems if p.code == "stale"]
    assert stale and all(not p.is_error for p in stale)
    assert errors(problems) == []


def test_term_without_example_is_an_error(project):
    path = project.root / "vocab/ontology/citydiplo.ttl"
    edit(path, '    skos:example "cdi:bristol a cd:LocalGovernment ; cd:country cdi:united-kingdom ." ;\n', "")
    messages = [str(p) for p in errors(validate(load(project)))]
    assert any("cd:LocalGovernment: skos:example: Every term needs at least one skos:example." in m for m in messages)
