"""Bad input in vocab/: each case breaks a fresh copy of the small test
project in one way and runs ``citydiplo validate`` (or another command) in
this process. Every case checks the exit code, the ``path:line`` of the
message, that there is no traceback, and that ``build/`` is untouched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .corpus import ACTORS, PREFIXES, QUERY, SOURCES, append, check, line_of, network, replace, run, tree_digest

CASES = {}


def case(func):
    CASES[func.__name__.removeprefix("case_")] = func
    return func


# ----------------------------------------------------------- our namespace
@case
def case_class_typo(root):
    line = append(root, ACTORS, network(extra="").replace("cd:CityNetwork", "cd:CityNetwrok"))
    return ["validate"], 1, f"{ACTORS}:{line}", "cd:CityNetwrok is not defined", "did you mean cd:CityNetwork?"


@case
def case_optional_property_typo(root):
    line = append(root, ACTORS, network(extra="    cd:partnr cdi:uclg ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "cd:partnr is not defined", "did you mean cd:partner?"


@case
def case_property_typo_far_from_any_term(root):
    line = append(root, ACTORS, network(extra="    cd:zzqqxx cdi:uclg ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "cd:zzqqxx is not defined in vocab/ontology/"


@case
def case_term_defined_in_data(root):
    line = append(root, SOURCES, "@prefix owl: <http://www.w3.org/2002/07/owl#> .\ncd:Hovercraft a owl:Class .\n")
    return ["validate"], 1, f"{SOURCES}:{line + 1}", "cd:Hovercraft is defined outside vocab/ontology/"


@case
def case_term_name_with_hyphen(root):
    line = append(root, ACTORS, network(extra="    cd:co-lead cdi:uclg ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "is not a plain name"


# ------------------------------------------------------------ IRIs, slugs
@case
def case_slug_climbs_out(root):
    iri = "<https://w3id.org/citydiplo/id/../../CONTRIBUTING>"
    line = append(root, ACTORS, network(iri))
    return ["validate"], 1, f"{ACTORS}:{line}", "is not kebab-case"


@case
def case_slug_with_capitals(root):
    line = append(root, ACTORS, network("cdi:Test_Network"))
    return ["validate"], 1, f"{ACTORS}:{line}", "'Test_Network' is not kebab-case"


@case
def case_slug_with_slash(root):
    line = append(root, ACTORS, network("<https://w3id.org/citydiplo/id/a/b>"))
    return ["validate"], 1, f"{ACTORS}:{line}", "'a/b' is not kebab-case"


@case
def case_slug_trailing_slash(root):
    line = append(root, ACTORS, network("<https://w3id.org/citydiplo/id/test-network/>"))
    return ["validate"], 1, f"{ACTORS}:{line}", "is not kebab-case"


@case
def case_slug_double_hyphen(root):
    line = append(root, ACTORS, network("cdi:test--network"))
    return ["validate"], 1, f"{ACTORS}:{line}", "is not kebab-case"


@case
def case_iri_outside_id_and_def(root):
    line = append(root, ACTORS, network(extra="    cd:partner <https://w3id.org/citydiplo/things/x> ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "not under id/ (things) or def/ (terms)"


@case
def case_entity_outside_the_base(root):
    line = append(root, ACTORS, network("<https://example.org/test-network>"))
    return ["validate"], 1, f"{ACTORS}:{line}", "is typed cd:CityNetwork but is outside"


@case
def case_entity_in_a_misspelt_base(root):
    line = append(root, ACTORS, network("<https://w3id.org/citydiplo/id-test-network>"))
    return ["validate"], 1, f"{ACTORS}:{line}", "not under id/ (things) or def/ (terms)"


@case
def case_relative_iri_subject(root):
    line = append(root, ACTORS, network("<test-network>"))
    return ["validate"], 1, f"{ACTORS}:{line}", "<https://w3id.org/citydiplo/test-network> is below the base IRI"


@case
def case_base_directive_relative_subject(root):
    text = "@base <https://w3id.org/citydiplo/id/> .\n" + network("<Bad_Slug>")
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line + 1}", "'Bad_Slug' is not kebab-case"


@case
def case_undefined_entity(root):
    line = append(root, ACTORS, network(extra="    cd:partner cdi:nobody-at-all ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "refers to cdi:nobody-at-all"


# --------------------------------------------------------- where problems are
@case
def case_indented_subject(root):
    line = append(root, ACTORS, "    " + network("cdi:indented-network", extra="    cd:partnr cdi:uclg ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "cd:partnr is not defined"


@case
def case_blank_node_subject(root):
    text = '[ a cd:CityNetwork ;\n    skos:prefLabel "Nameless network"@en ] .\n'
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line + 1}", "[blank node]"


@case
def case_labelled_blank_node_subject(root):
    text = '_:x a cd:CityNetwork ;\n    skos:prefLabel "Labelled blank network"@en .\n'
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line + 1}", "[blank node]"


@case
def case_duplicate_entity_first_place(root):
    first = line_of(root, ACTORS, "cdi:uclg a cd:CityNetwork")
    line = append(root, SOURCES, network("cdi:uclg"))
    return ["validate"], 1, f"{ACTORS}:{first}", f"is written again at {SOURCES}:{line}"


@case
def case_duplicate_entity_second_place(root):
    first = line_of(root, ACTORS, "cdi:uclg a cd:CityNetwork")
    line = append(root, SOURCES, network("cdi:uclg"))
    return ["validate"], 1, f"{SOURCES}:{line}", f"is already written at {ACTORS}:{first}"


@case
def case_duplicate_entity_property_in_second_file(root):
    line = append(root, SOURCES, "cdi:uclg cd:partnr cdi:iom .\n")
    return ["validate"], 1, f"{SOURCES}:{line}", "cd:partnr is not defined"


# ------------------------------------------------------------ Turtle syntax
@case
def case_missing_final_dot(root):
    text = network().rstrip(" .\n") + "\n"
    line = append(root, ACTORS, text + "cdi:other a cd:CityNetwork .\n")
    return ["validate"], 1, f"{ACTORS}:{line + 5}", "Turtle syntax error"


@case
def case_undeclared_prefix(root):
    line = append(root, ACTORS, network(extra="    foo:bar cdi:uclg ;\n"))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "Turtle syntax error"


@case
def case_unterminated_string(root):
    line = append(root, ACTORS, 'cdi:test-network skos:prefLabel "never closed ;\n')
    return ["validate"], 1, f"{ACTORS}:{line}", "Turtle syntax error"


@case
def case_unclosed_bracket(root):
    line = append(root, ACTORS, "cdi:test-network cd:hasAccessOption [ a cd:AccessOption ;\n")
    return ["validate"], 1, f"{ACTORS}:{line}", "Turtle syntax error"


@case
def case_wrong_prefix_namespace(root):
    line = replace(
        root,
        ACTORS,
        "@prefix cd: <https://w3id.org/citydiplo/def/> .",
        "@prefix cd: <https://w3id.org/citydiplo/defs/> .",
    )
    return ["validate"], 1, f"{ACTORS}:{line}", "prefix cd: is <https://w3id.org/citydiplo/defs/>"


# ----------------------------------------------------- datatypes and shapes
@case
def case_invalid_start_date_next_to_end_date(root):
    text = (
        "cdi:test-meeting a cd:Meeting ;\n"
        '    skos:prefLabel "Test meeting"@en , "Testtreffen"@de ;\n'
        '    skos:definition "A meeting for the tests."@en , "Ein Treffen für die Tests."@de ;\n'
        "    schema:superEvent cdi:gfmd ;\n"
        '    schema:startDate "2024-13-45"^^xsd:date ;\n'
        '    schema:endDate "2024-01-20"^^xsd:date ;\n'
        "    dcterms:source cdi:source-policy-paper ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n'
    )
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line + 4}", '"2024-13-45"^^xsd:date is not a valid xsd:date'


@case
def case_invalid_last_checked_date(root):
    line = append(root, ACTORS, network().replace('"2026-11-22"', '"2026-02-30"'))
    return ["validate"], 1, f"{ACTORS}:{line + 4}", "is not a valid xsd:date"


@case
def case_access_option_without_source(root):
    text = network(
        extra="    cd:hasAccessOption [ a cd:AccessOption ;\n"
        "        cd:route cdi:route-constituency-mechanism ;\n"
        '        skos:note "Open to all."@en , "Offen für alle."@de ] ;\n'
    )
    line = append(root, ACTORS, text)  # reported where the option is held, line 4 of the block
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "dcterms:source: A qualified relation needs its own"


@case
def case_last_checked_plain_string(root):
    line = append(root, ACTORS, network().replace('"2026-11-22"^^xsd:date', '"last week"'))
    return ["validate"], 1, f"{ACTORS}:{line + 4}", "cd:lastChecked"


@case
def case_gyear_not_a_year(root):
    line = append(root, ACTORS, network(extra='    schema:foundingDate "soon"^^xsd:gYear ;\n'))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "is not a valid xsd:gYear"


@case
def case_integer_not_a_number(root):
    line = append(root, ACTORS, network(extra='    cd:ordinal "third"^^xsd:integer ;\n'))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "is not a valid xsd:integer"


@case
def case_missing_german_label(root):
    line = append(root, ACTORS, network().replace(' , "Testnetzwerk"@de', ""))
    return ["validate"], 1, f"{ACTORS}:{line + 1}", "cdi:test-network", "in German"


@case
def case_missing_definitions(root):
    text = "".join(x for x in network().splitlines(keepends=True) if "skos:definition" not in x)
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line}", "skos:definition"


@case
def case_missing_source(root):
    text = "".join(x for x in network().splitlines(keepends=True) if "dcterms:source" not in x)
    line = append(root, ACTORS, text)
    return ["validate"], 1, f"{ACTORS}:{line}", "dcterms:source"


@case
def case_label_without_language(root):
    line = append(root, ACTORS, network(extra='    skos:altLabel "TN" ;\n'))
    return ["validate"], 1, f"{ACTORS}:{line + 3}", "skos:altLabel"


@case
def case_two_english_labels(root):
    line = append(root, ACTORS, network().replace('"Test Network"@en', '"Test Network"@en , "Second"@en'))
    return ["validate"], 1, f"{ACTORS}:{line + 1}", "skos:prefLabel"


# -------------------------------------------------------------- the files
@case
def case_not_utf8_turtle(root):
    path = root / ACTORS
    data = path.read_bytes()
    line = data.count(b"\n") + 2
    path.write_bytes(data + b"\n# Stra\xdfe in Latin-1\n")
    return ["validate"], 1, f"{ACTORS}:{line}", "is not UTF-8 (byte 0xdf at column 7)"


@case
def case_unreadable_turtle(root, monkeypatch):
    real = Path.read_bytes

    def deny(self):
        if self.name == "actors.ttl":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    return ["validate"], 1, f"{ACTORS}:1", "cannot be read: Permission denied"


@case
def case_folder_named_ttl(root):
    (root / "vocab" / "data" / "more.ttl").mkdir()
    return ["validate"], 1, "vocab/data/more.ttl:1", "is a folder, not a Turtle file"


@case
def case_broken_symlink_ttl(root):
    (root / "vocab" / "data" / "gone.ttl").symlink_to(root / "vocab" / "data" / "nowhere.ttl")
    return ["validate"], 1, "vocab/data/gone.ttl:1", "is a broken symbolic link"


@case
def case_symlink_out_of_repository(root):
    outside = root.parent / "outside.ttl"
    outside.write_text(PREFIXES + network("cdi:outside-network"), encoding="utf-8")
    (root / "vocab" / "data" / "outside.ttl").symlink_to(outside)
    return ["validate"], 1, "vocab/data/outside.ttl:1", "outside the repository"


@case
def case_fifo_named_ttl(root):
    os.mkfifo(root / "vocab" / "data" / "pipe.ttl")
    return ["validate"], 1, "vocab/data/pipe.ttl:1", "is not a regular file"


@case
def case_file_over_size_limit(root):
    line = append(root, ACTORS, network(extra=f'    skos:note "{"x" * (16 * 1024 * 1024 + 10)}"@en ;\n'))
    assert line
    return ["validate"], 1, f"{ACTORS}:1", "over the limit of 16,777,216"


@case
def case_empty_turtle_file_is_fine(root):
    (root / "vocab" / "data" / "empty.ttl").write_text("", encoding="utf-8")
    return ["validate"], 0, None, "vocab/ is valid"


# ------------------------------------------------------------ query files
@case
def case_query_not_utf8(root):
    path = root / QUERY
    path.write_bytes(path.read_bytes().replace(b"# description:", b"# description: Stra\xdfe"))
    return ["validate"], 1, f"{QUERY}:3", "is not UTF-8"


@case
def case_query_syntax_error(root):
    line = replace(root, QUERY, "ORDER BY ?orgLabel", "ORDER BY ?orgLabel }")
    return ["validate"], 1, f"{QUERY}:{line}", "SPARQL syntax error"


@case
def case_query_unknown_prefix(root):
    line = replace(root, QUERY, "?org org:hasMembership ?m .", "?org foaf:knows ?m .")
    return ["validate"], 1, f"{QUERY}:{line}", "SPARQL syntax error"


@case
def case_query_service(root):
    service = "SERVICE <http://127.0.0.1:9/> { ?org skos:prefLabel ?orgLabel }"
    line = replace(root, QUERY, "?org skos:prefLabel ?orgLabel .", service)
    return ["validate"], 1, f"{QUERY}:{line}", "SERVICE is not allowed"


@case
def case_query_service_in_comment_is_fine(root):
    replace(root, QUERY, "# description:", "# description: no SERVICE here;")
    return ["validate"], 0, None, "vocab/ is valid"


@case
def case_folder_named_rq(root):
    (root / "vocab" / "queries" / "odd.rq").mkdir()
    return ["validate"], 1, "vocab/queries/odd.rq:1", "is a folder, not a SPARQL file"


# ------------------------------------------- other commands on broken files
@case
def case_export_with_folder_named_ttl(root):
    (root / "vocab" / "data" / "more.ttl").mkdir()
    return ["export"], 1, "vocab/data/more.ttl:1", "is a folder"


@case
def case_query_with_not_utf8_turtle(root):
    path = root / SOURCES
    path.write_bytes(path.read_bytes() + b"# \xff\n")
    return ["query", "co-leads-of-mayors-mechanism"], 1, None, f"{SOURCES}:", "is not UTF-8"


@case
def case_build_stops_at_vocab_error(root):
    line = append(root, ACTORS, network(extra="    cd:partnr cdi:uclg ;\n"))
    return ["build", "-j", "1"], 1, f"{ACTORS}:{line + 3}", "nothing was built"


@case
def case_build_refuses_slug_that_climbs_out(root):
    iri = "<https://w3id.org/citydiplo/id/../../CONTRIBUTING>"
    line = append(root, ACTORS, network(iri))
    return ["build", "-j", "1"], 1, f"{ACTORS}:{line}", "is not kebab-case"


def fake_previous_build(root: Path) -> None:
    """A stand-in for the last good output, which no failing command may touch."""
    for name in ("html", "dist"):
        folder = root / "build" / name
        folder.mkdir(parents=True)
        (folder / "index.html" if name == "html" else folder / "SHA256SUMS").write_text("previous\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name, project, capsys, monkeypatch, tmp_path, caplog):
    root = project.root
    (root / "CONTRIBUTING.md").write_text("keep me\n")
    fake_previous_build(root)
    before = tree_digest(root / "build"), tree_digest(root / "handbook")
    func = CASES[name]
    spec = func(root, monkeypatch) if "monkeypatch" in func.__code__.co_varnames else func(root)
    argv, code, where, *fragments = spec
    monkeypatch.chdir(tmp_path)
    outcome = run(capsys, ["--root", str(root), *argv])
    check(outcome, code, where, *fragments)
    logged = [r for r in caplog.records if r.exc_info]
    assert not logged, f"a traceback was logged: {logged[0].getMessage()}"
    if code != 0:
        assert tree_digest(root / "build") == before[0], "build/ changed"
        assert tree_digest(root / "handbook") == before[1], "handbook/ changed"
    assert (root / "CONTRIBUTING.md").read_text() == "keep me\n"
    assert not (root.parent / "CONTRIBUTING.md").exists()


def test_corpus_is_large_enough():
    assert len(CASES) >= 45


def test_fixture_validates(project, capsys):
    check(run(capsys, ["--root", str(project.root), "validate"]), 0, None, "vocab/ is valid")


def test_copy_of_fixture_has_no_leftovers(project):
    assert not any(p.name.endswith((".tmp", ".old")) for p in project.root.rglob("*"))
    shutil.rmtree(project.root / "vocab" / "queries")
