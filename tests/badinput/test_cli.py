"""Bad command lines and project settings, run in this process: the exit
code, a message naming the argument or ``conf/citydiplo.toml:line``, no
traceback, nothing written."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import pytest

from citydiplo.config import ConfigError, find_root, load_project
from citydiplo.files import build_lock, recover_dir, replace_dir
from citydiplo.graph.export import csv_cell, export
from citydiplo.paths import UnsafePath, output_path
from citydiplo.site.compile import sync

from .corpus import ACTORS, append, check, line_of, network, replace, run, tree_digest

CONF = "conf/citydiplo.toml"
#: The version written in the real conf/ (the fixture copies it), read as text, so that
#: a release needs no edit here and the loader is checked against the file itself.
VERSION = re.search(
    r'^version = "([^"]+)"$', (Path(__file__).resolve().parents[2] / CONF).read_text(encoding="utf-8"), re.M
).group(1)


# ------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["build", "--jobs", "abc"], "argument --jobs/-j: expected a number or 'auto', got 'abc'"),
        (["build", "--jobs", "0"], "expected a number from 1 to 512, got 0"),
        (["epub", "-j", "-3"], "expected a number from 1 to 512"),
        (["build", "--edition", "teacher"], "invalid choice: 'teacher'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["query"], "the following arguments are required: query"),
        (["export", "--out", "README.md/dump"], "is a file, not a folder"),
    ],
    ids=["jobs-abc", "jobs-zero", "epub-jobs-negative", "edition", "command", "query-missing", "out-below-file"],
)
def test_bad_arguments(argv, fragment, project, capsys, monkeypatch):
    (project.root / "README.md").write_text("a file\n")
    monkeypatch.chdir(project.root)
    check(run(capsys, ["--root", str(project.root), *argv]), 2, None, fragment)
    assert not (project.root / "build").exists()


def test_out_folder_with_other_files_is_refused(project, capsys, monkeypatch):
    monkeypatch.chdir(project.root)
    outcome = run(capsys, ["--root", str(project.root), "export", "--out", "vocab/data"])
    check(outcome, 2, None, "holds other files; the dump replaces the whole folder")
    assert (project.root / ACTORS).is_file()


def test_out_folder_that_is_the_root_is_refused(project, capsys):
    outcome = run(capsys, ["--root", str(project.root), "export", "--out", str(project.root)])
    check(outcome, 2, None, "holds other files")
    assert (project.root / "conf" / "citydiplo.toml").is_file()


@pytest.mark.parametrize("rel", ["vocab/dump", "handbook/id/dump", "conf/dump"])
def test_out_folder_inside_the_sources_is_refused(rel, project, capsys):
    outcome = run(capsys, ["--root", str(project.root), "export", "--out", str(project.root / rel)])
    check(outcome, 2, None, "would write into or replace")
    assert not (project.root / rel).exists()


def test_out_folder_that_contains_the_sources_is_refused(project, capsys, tmp_path):
    # an empty folder named as the project's parent cannot exist; a dump's
    # parent folder can: a previous dump that happens to hold the project
    (project.root.parent / "SHA256SUMS").write_text("")
    outcome = run(capsys, ["--root", str(project.root), "export", "--out", str(project.root.parent)])
    check(outcome, 2, None, "would write into or replace")
    assert (project.root / "conf" / "citydiplo.toml").is_file()


def test_out_new_folder_works(project, capsys, tmp_path):
    outcome = run(capsys, ["--root", str(project.root), "export", "--out", str(tmp_path / "dump")])
    check(outcome, 0, None, "dump written to")
    assert (tmp_path / "dump" / "SHA256SUMS").is_file()


# ----------------------------------------------------------- project root
def test_root_that_does_not_exist(capsys, tmp_path):
    check(run(capsys, ["--root", str(tmp_path / "nope"), "validate"]), 2, None, "--root", "no such folder")


def test_root_without_configuration(capsys, tmp_path):
    check(run(capsys, ["--root", str(tmp_path), "validate"]), 2, None, "not a citydiplo project")


def test_environment_root_invalid_is_an_error(capsys, tmp_path, monkeypatch, project):
    monkeypatch.chdir(project.root)  # would be found from here, but the environment wins
    monkeypatch.setenv("CITYDIPLO_ROOT", str(tmp_path / "nope"))
    check(run(capsys, ["validate"]), 2, None, "$CITYDIPLO_ROOT", "no such folder")


def test_environment_root_is_used(capsys, tmp_path, monkeypatch, project):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYDIPLO_ROOT", str(project.root))
    check(run(capsys, ["validate"]), 0, None, "vocab/ is valid")


def test_root_option_wins_over_environment(capsys, tmp_path, monkeypatch, project):
    monkeypatch.setenv("CITYDIPLO_ROOT", str(tmp_path))
    check(run(capsys, ["--root", str(project.root), "validate"]), 0, None, "vocab/ is valid")


def test_root_found_from_a_subfolder(capsys, monkeypatch, project):
    monkeypatch.delenv("CITYDIPLO_ROOT", raising=False)
    monkeypatch.chdir(project.root / "vocab" / "data")
    check(run(capsys, ["validate"]), 0, None, "vocab/ is valid")
    assert find_root() == project.root.resolve()


def test_no_root_outside_a_project(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("CITYDIPLO_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    check(run(capsys, ["validate"]), 2, None, "not inside a citydiplo project", "--root")


def test_installed_package_location_is_not_a_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("CITYDIPLO_ROOT", raising=False)
    with pytest.raises(ConfigError):
        find_root(cwd=tmp_path)


# ---------------------------------------------------------- configuration
@pytest.mark.parametrize(
    "old, new, fragment, at",
    [
        (f'version = "{VERSION}"\n', "", "[project] has no `version`", "[project]"),
        ('base = "https://w3id.org/citydiplo/"', 'base = "https://w3id.org/citydiplo"', "must end with '/'", "base ="),
        ('base = "https://w3id.org/citydiplo/"', "base = 3", "[iri] base must be a str", "base ="),
        ('build = "build"', 'build = "../elsewhere"', "[paths] build must be a folder inside", 'build = "'),
        ("stale_after_days = 365", 'stale_after_days = "a year"', "stale_after_days must be a int", "stale_after"),
        ('languages = ["en", "de"]', "languages = []", "[build] languages must list codes", "languages ="),
        ('languages = ["en", "de"]', 'languages = ["en", "klingon"]', "'klingon' is not one of", "languages ="),
        ('name = "City', "name = City", "Invalid value", "name = City"),
    ],
    ids=[
        "version-missing",
        "base-slash",
        "base-type",
        "build-outside",
        "stale-type",
        "languages-empty",
        "languages-unknown",
        "toml",
    ],
)
def test_bad_configuration(old, new, fragment, at, project, capsys):
    replace(project.root, CONF, old, new)
    line = line_of(project.root, CONF, at)
    check(run(capsys, ["--root", str(project.root), "validate"]), 2, f"{CONF}:{line}", fragment)


def test_version_raised_without_the_ontology_is_an_error(project, capsys):
    """A release raises [project] version; the ontology header must follow (owl:versionInfo, owl:versionIRI)."""
    replace(project.root, CONF, f'version = "{project.version}"', 'version = "9.9.9"')
    onto = "vocab/ontology/citydiplo.ttl"
    outcome = run(capsys, ["--root", str(project.root), "validate"])
    check(outcome, 1, f"{onto}:{line_of(project.root, onto, 'owl:versionIRI')}", "dist/9.9.9/citydiplo.ttl")
    check(outcome, 1, f"{onto}:{line_of(project.root, onto, 'owl:versionInfo')}", '"9.9.9"')


# --------------------------------------------------- queries and the dump
def test_query_syntax_error_is_a_message(project, capsys):
    outcome = run(capsys, ["--root", str(project.root), "query", "SELECT * WHERE { ?s ?p }"])
    check(outcome, 1, None, "SPARQL syntax error")


def test_query_unknown_name(project, capsys):
    check(run(capsys, ["--root", str(project.root), "query", "no-such-query"]), 1, None, "neither a .rq file")


def test_query_missing_file(project, capsys):
    check(run(capsys, ["--root", str(project.root), "query", "nope.rq"]), 1, None, "no query file nope.rq")


FORMULAS = '"=HYPERLINK(\\"http://example.org\\")"@en , "+1"@en , "-1"@en , "@SUM(A1)"@en'


def test_csv_cells_are_never_formulas(project, tmp_path):
    append(
        project.root,
        ACTORS,
        network(extra=f"    skos:altLabel {FORMULAS} ;\n"),
    )
    result = export(project, tmp_path / "dist")
    rows = list(csv.DictReader(io.StringIO((result.directory / "csv" / "city-networks.csv").read_text())))
    row = next(r for r in rows if r["slug"] == "test-network")
    assert row["alt_labels"].startswith("'")
    for line in (result.directory / "csv" / "city-networks.csv").read_text().splitlines():
        for cell in next(csv.reader([line])):
            # a plain number (a negative latitude) stays a number; anything else is quoted
            assert not cell.startswith(("=", "+", "-", "@")) or re.fullmatch(r"-\d+(\.\d+)?", cell), cell


@pytest.mark.parametrize("value", ["=1+1", "+41 22", "-x", "@cmd", "\tx", "\rx"])
def test_csv_cell_neutralised(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["GFMD", "2018-12-10", "https://example.org/=x", "", "-33.86785", "-72"])
def test_csv_cell_plain(value):
    assert csv_cell(value) == value


# ------------------------------------------------------- paths and writes
@pytest.mark.parametrize(
    "rel", ["id/../../CONTRIBUTING.md", "../x.md", "/etc/passwd", "id//x.md", "id/.hidden.md", "", "id/a\\b.md"]
)
def test_output_path_refuses(rel, tmp_path):
    with pytest.raises(UnsafePath):
        output_path(tmp_path / "handbook", rel)


def test_output_path_refuses_a_link_out(tmp_path):
    (tmp_path / "handbook").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "handbook" / "id").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath):
        output_path(tmp_path / "handbook", "id/x.md")


def test_output_path_looks_at_links_at_every_depth(tmp_path):
    """A link as the file itself (even dangling) or deeper down is resolved and checked;
    a link that stays inside the folder is allowed; the folder itself may be reached through a link."""
    site = tmp_path / "site"
    (site / "id").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (site / "id" / "leaf.ttl").symlink_to(tmp_path / "outside" / "leaf.ttl")  # dangling, pointing out
    (site / "id" / "sub").symlink_to(tmp_path / "outside")
    (site / "inner").symlink_to(site / "id")
    for rel in ("id/leaf.ttl", "id/sub/x.ttl"):
        with pytest.raises(UnsafePath):
            output_path(site, rel)
    assert output_path(site, "inner/x.ttl") == site.resolve() / "inner" / "x.ttl"
    assert output_path(site, "id/new/deeper/x.ttl") == site.resolve() / "id/new/deeper/x.ttl"
    (tmp_path / "via").symlink_to(site)
    assert output_path(tmp_path / "via", "id/x.ttl") == site.resolve() / "id" / "x.ttl"


def test_sync_refuses_pages_outside_generated_folders(tmp_path):
    handbook = tmp_path / "handbook"
    (handbook / "id").mkdir(parents=True)
    (tmp_path / "CONTRIBUTING.md").write_text("keep\n")
    for rel in ("id/../../CONTRIBUTING.md", "index.md"):
        with pytest.raises(UnsafePath):
            sync({rel: "overwritten"}, handbook)
    assert (tmp_path / "CONTRIBUTING.md").read_text() == "keep\n"
    assert not (handbook / "index.md").exists()


def test_sync_writes_and_deletes_inside(tmp_path):
    handbook = tmp_path / "handbook"
    sync({"id/a.md": "A", "id/b.md": "B"}, handbook)
    result = sync({"id/a.md": "A"}, handbook)
    assert [p.name for p in result.deleted] == ["b.md"]
    assert (handbook / "id" / "a.md").read_text() == "A"


# ------------------------------------------------------------ atomic swap
def test_replace_dir_keeps_one_complete_folder(tmp_path):
    target, new = tmp_path / "html", tmp_path / "html.tmp"
    target.mkdir()
    (target / "page").write_text("old")
    new.mkdir()
    (new / "page").write_text("new")
    replace_dir(new, target)
    assert (target / "page").read_text() == "new"
    assert not new.exists() and not (tmp_path / "html.old").exists()


def test_crash_between_renames_is_recovered(tmp_path):
    target, old = tmp_path / "html", tmp_path / "html.old"
    old.mkdir()  # a process died after moving the output aside
    (old / "page").write_text("previous")
    recover_dir(target)
    assert (target / "page").read_text() == "previous"


def test_lock_refuses_without_waiting(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from citydiplo.files import build_lock\n"
            "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        from citydiplo.files import BuildLocked

        with pytest.raises(BuildLocked, match=f"pid {holder.pid}"), build_lock(tmp_path, wait=False):
            pass
    finally:
        holder.kill()
        holder.wait()
    with build_lock(tmp_path, wait=False), build_lock(tmp_path, wait=False):  # re-entrant in one process
        pass


def test_config_loads(project):
    assert load_project(project.root).version == VERSION
    assert tree_digest(Path(project.root) / "nothing") == "absent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_replace_dir_is_one_exchange_on_linux(tmp_path, monkeypatch):
    """No rename in two steps, so no moment without build/html."""
    target, new = tmp_path / "html", tmp_path / "html.tmp"
    for folder, text in ((target, "old"), (new, "new")):
        folder.mkdir()
        (folder / "page").write_text(text)

    def no_rename(self, other):
        raise AssertionError("replace_dir renamed in two steps")

    monkeypatch.setattr(Path, "rename", no_rename)
    replace_dir(new, target)
    assert (target / "page").read_text() == "new"


def test_crash_in_the_two_step_swap_keeps_the_previous_output(tmp_path, monkeypatch):
    """Where the exchange is not available: a crash between the two renames
    leaves the previous output aside, and the next swap puts it back first."""
    import citydiplo.files as files

    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target, new = tmp_path / "html", tmp_path / "html.tmp"
    for folder, text in ((target, "old"), (new, "new")):
        folder.mkdir()
        (folder / "page").write_text(text)
    real = Path.rename

    def crash(self, other):
        if Path(other) == target:
            raise KeyboardInterrupt  # the process dies here
        return real(self, other)

    monkeypatch.setattr(Path, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        replace_dir(new, target)
    monkeypatch.setattr(Path, "rename", real)
    assert not target.exists() and (tmp_path / "html.old" / "page").read_text() == "old"
    recover_dir(target)  # what the next build does first
    assert (target / "page").read_text() == "old"


@pytest.mark.parametrize("outcome", ["returns", "raises"])
def test_the_collector_setting_holds_for_the_command_only(outcome, project, monkeypatch):
    """A command runs with the build's garbage-collector thresholds; the caller's come back after,
    whether the command returns or fails."""
    import gc

    from citydiplo import cli

    seen = []

    def command(project, args):
        seen.append(gc.get_threshold())
        if outcome == "raises":
            raise OSError(2, "No such file or directory", str(project.root / "vocab" / "gone.ttl"))
        return 0

    monkeypatch.setitem(cli.COMMANDS, "validate", command)
    before = gc.get_threshold()
    code = cli.main(["--root", str(project.root), "validate"])
    assert seen == [cli.GC_THRESHOLD]
    assert gc.get_threshold() == before
    assert code == (0 if outcome == "returns" else 1)


def test_a_folder_that_cannot_be_locked_does_not_stop_the_build(tmp_path, monkeypatch):
    """Where the file system refuses to lock a folder (some network file
    systems), the lock of the sources is skipped rather than failing the build;
    a lock file (build/.lock) that cannot be locked is still an error."""
    import errno

    from citydiplo import files

    def refuse(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(files.fcntl, "flock", refuse)
    entered = []
    with files.source_lock(tmp_path):
        entered.append(1)
    assert entered == [1]
    with pytest.raises(OSError, match="No locks"), files.build_lock(tmp_path / "build"):
        pass
