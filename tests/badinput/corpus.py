"""Shared helpers of the bad-input corpus: a small project per case, edits
that return the line they wrote, and the checks every case makes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from citydiplo.cli import main

ACTORS = "vocab/data/actors.ttl"
SOURCES = "vocab/data/sources.ttl"
QUERY = "vocab/queries/co-leads-of-mayors-mechanism.rq"

PREFIXES = """@prefix cd: <https://w3id.org/citydiplo/def/> .
@prefix cdi: <https://w3id.org/citydiplo/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix schema: <https://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def network(subject: str = "cdi:test-network", extra: str = "") -> str:
    """A valid entity block (a city network), with ``extra`` property lines
    inserted before its last line."""
    return (
        f"{subject} a cd:CityNetwork ;\n"
        '    skos:prefLabel "Test Network"@en , "Testnetzwerk"@de ;\n'
        '    skos:definition "A network written for the tests."@en , "Ein Netzwerk für die Tests."@de ;\n'
        f"{extra}"
        "    dcterms:source cdi:source-policy-paper ;\n"
        '    cd:lastChecked "2026-11-22"^^xsd:date .\n'
    )


def append(root: Path, rel: str, text: str) -> int:
    """Append ``text`` (after a blank line) to ``root/rel``; returns the line
    number of its first line."""
    path = root / rel
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    prefix = b"\n" if old else b""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(old + prefix + text.encode("utf-8"))
    return old.count(b"\n") + prefix.count(b"\n") + 1


def replace(root: Path, rel: str, old: str, new: str) -> int:
    """Replace the one occurrence of ``old``; returns the line it starts on."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def line_of(root: Path, rel: str, needle: str) -> int:
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def tree_digest(folder: Path, skip: tuple[str, ...] = ()) -> str:
    """A digest of every file's path and bytes below ``folder`` (links as their
    target), leaving out the top-level folders named in ``skip``."""
    digest = hashlib.sha256()
    if not folder.exists():
        return "absent"
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel.split("/", 1)[0] in skip:
            continue
        if path.is_symlink():
            digest.update(f"L {rel} {path.readlink()}\n".encode())
        elif path.is_file():
            digest.update(f"F {rel}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run(capsys, argv: list[str]) -> Outcome:
    """``citydiplo ARGV`` in this process."""
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def check(outcome: Outcome, code: int, where: str | None, *fragments: str) -> None:
    """The checks every case makes: the exit code, a ``path:line`` message
    (``where``; the message must start there), the fragments, no traceback."""
    text = outcome.text
    assert "Traceback" not in text, text
    assert outcome.code == code, f"exit {outcome.code}, expected {code}:\n{text}"
    if where is not None:
        assert re.search(rf"(^|[\s/]){re.escape(where)}:(\s|$)", text, re.M), f"no message at {where}:\n{text}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
