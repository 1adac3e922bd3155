"""The forms at the end of a course pack: the evaluation form (participant
edition), the attendance sheet (trainer edition) and, on request, certificates
of participation.

The workshop's name, its date and the participants' names come from the
command line (``citydiplo coursepack NAME --workshop … --date … --certificate
[--certificate-names FILE]``); they are checked here (:func:`workshop_details`)
before anything is built, and every one of them passes the escaping boundary
(:func:`citydiplo.escape.print_text`) before it reaches the pack's HTML.
Without a workshop name or date the forms print a line to write on.

The sessions to rate are those of the pack's agenda (the modules' session
tables, for the chosen full or half day); a pack without a session table
rates its chapters. The attendance sheet has one page per workshop day: a
pack with several modules is one day per module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..escape import print_text

#: Blank rows on an attendance sheet (one landscape page)
ATTENDANCE_ROWS = 12
#: The longest name a certificate prints (characters)
NAME_LIMIT = 100
#: The longest workshop name (characters)
WORKSHOP_LIMIT = 160
#: At most this many certificates (one page each)
MAX_CERTIFICATES = 500


class HandoutError(ValueError):
    """A command-line value for the forms that cannot be used; the message names the option or file."""


@dataclass(frozen=True)
class Workshop:
    """What the forms fill in: all optional, except that a certificate needs a name and date of the workshop."""

    name: str = ""
    date: dt.date | None = None
    certificate: bool = False
    #: the participants' names, one certificate each; empty: one certificate with a blank line
    names: tuple[str, ...] = field(default_factory=tuple)


def parse_date(text: str) -> dt.date:
    """``2027-03-15`` → a date; anything else is a :class:`HandoutError` naming ``--date``."""
    value = text.strip()
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HandoutError(f"--date: {text!r} is not a date: write YYYY-MM-DD, e.g. 2027-03-15") from None


def read_names(path: Path) -> tuple[str, ...]:
    """One name per line (UTF-8); blank lines are skipped. Mistakes name the file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HandoutError(f"--certificate-names: {path}: cannot be read: {exc.strerror or exc}") from None
    names = []
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise HandoutError(f"{path}:{number}: not UTF-8 text; save the list of names as UTF-8") from None
        name = " ".join(line.split())
        if not name:
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise HandoutError(f"{path}:{number}: the name holds a control character")
        if len(name) > NAME_LIMIT:
            raise HandoutError(f"{path}:{number}: a name of {len(name)} characters; at most {NAME_LIMIT} fit a line")
        names.append(name)
    if not names:
        raise HandoutError(f"--certificate-names: {path}: no names in it (one name per line)")
    if len(names) > MAX_CERTIFICATES:
        raise HandoutError(f"--certificate-names: {path}: {len(names)} names; at most {MAX_CERTIFICATES}")
    return tuple(names)


def workshop_details(
    workshop: str | None = None,
    date: str | None = None,
    certificate: bool = False,
    names_file: str | Path | None = None,
) -> Workshop:
    """Check the command-line options of the forms; raise :class:`HandoutError` with the option's name."""
    name = " ".join((workshop or "").split())
    if workshop is not None and not name:
        raise HandoutError("--workshop: the workshop's name is empty")
    if len(name) > WORKSHOP_LIMIT:
        raise HandoutError(f"--workshop: {len(name)} characters; at most {WORKSHOP_LIMIT} fit the forms")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise HandoutError("--workshop: the name holds a control character")
    day = parse_date(date) if date is not None else None
    names: tuple[str, ...] = ()
    if names_file is not None:
        names = read_names(Path(names_file))
        certificate = True
    if certificate:
        missing = [option for option, value in (("--workshop", name), ("--date", day)) if not value]
        if missing:
            raise HandoutError(
                f"--certificate needs {' and '.join(missing)}: a certificate names the workshop and its date"
            )
    return Workshop(name=name, date=day, certificate=certificate, names=names)


def handouts(
    workshop: Workshop,
    edition: str,
    agendas: list[dict],
    chapters: list[dict],
    pack_title: str,
    strings: dict[str, str],
    format_date,
    language: str,
) -> dict:
    """What ``coursepack.html.j2`` prints after the glossary: ``evaluation``
    (participant edition), ``attendance`` (trainer edition, one sheet per
    day), ``certificates`` (with ``--certificate``, in the edition built).
    Every value from outside the project's own strings is escaped here."""
    date = format_date(workshop.date, language) if workshop.date else ""
    fields = {"workshop": print_text(workshop.name), "date": print_text(date)}
    result: dict = {"fields": fields, "evaluation": None, "attendance": [], "certificates": []}
    if edition == "participant":
        if agendas:
            groups = [
                {
                    "title": agenda["title"],
                    "rows": [
                        {"number": row["number"], "title": row["title"]}
                        for row in agenda["rows"]
                        if row["kind"] == "session"
                    ],
                }
                for agenda in agendas
            ]
        else:
            groups = [{"title": "", "rows": [{"number": c["number"], "title": c["title"]} for c in chapters]}]
        result["evaluation"] = {"groups": groups, "several": len(groups) > 1}
    if edition == "trainer":
        days = [agenda["title"] for agenda in agendas] or [pack_title]
        for number, title in enumerate(days, start=1):
            heading = strings["attendance_title"]
            if len(days) > 1:
                heading = strings["attendance_day"].format(title=heading, day=number, days=len(days))
            result["attendance"].append(
                {
                    "anchor": f"handout-attendance-{number}",
                    "heading": heading,
                    "module": title if len(days) > 1 else "",
                    "date": fields["date"] if number == 1 else "",
                    "rows": range(1, ATTENDANCE_ROWS + 1),
                }
            )
    if workshop.certificate:
        minutes = sum(agenda["session_minutes"] for agenda in agendas)
        scope = strings["certificate_scope"].format(pack=pack_title)
        if minutes:
            scope += " " + strings["certificate_hours"].format(time=duration(minutes, strings))
        on = print_text(strings["certificate_on"].format(date=date))
        names = workshop.names or ("",)
        result["certificates"] = [
            {"anchor": f"certificate-{index}", "name": print_text(name), "on": on, "scope": scope}
            for index, name in enumerate(names, start=1)
        ]
    return result


def duration(minutes: int, strings: dict[str, str]) -> str:
    """``220`` → "3 hours and 40 minutes", ``360`` → "6 hours", ``90`` → "90 minutes" (in the pack's language)."""
    hours, rest = divmod(minutes, 60)
    if hours < 2:
        return strings["minutes_only"].format(minutes=minutes)
    if rest:
        return strings["hours_minutes"].format(hours=hours, minutes=rest)
    return strings["hours_only"].format(hours=hours)
