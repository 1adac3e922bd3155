"""Dates as a reader reads them: "5–8 May 2026", "May 2026", "2026".

The graph holds dates as ``xsd:date``, ``xsd:gYearMonth`` or ``xsd:gYear``
literals (the precision the source gives). :func:`parse` checks the datatype
and the lexical form and returns a :class:`Day` with its precision, or
``None`` for anything else, so a template never prints an unchecked value as
a date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rdflib import Literal
from rdflib.namespace import XSD

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}
_FORMS = {
    XSD.date: (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
    XSD.gYearMonth: (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    XSD.gYear: (re.compile(r"^(\d{4})$"), "year"),
}


@dataclass(frozen=True, order=True)
class Day:
    """A date with the precision the source gives (day, month or year)."""

    first: dt.date  # the first day the value can mean
    last: dt.date  # the last day it can mean
    precision: str  # "day", "month" or "year"

    @property
    def iso(self) -> str:
        if self.precision == "year":
            return f"{self.first.year:04d}"
        if self.precision == "month":
            return f"{self.first.year:04d}-{self.first.month:02d}"
        return self.first.isoformat()


def parse(value) -> Day | None:
    """A checked date from an RDF literal, or ``None`` if it is not one."""
    if not isinstance(value, Literal) or value.datatype not in _FORMS:
        return None
    pattern, precision = _FORMS[value.datatype]
    match = pattern.match(str(value))
    if match is None:
        return None
    parts = [int(p) for p in match.groups()]
    try:
        if precision == "day":
            first = last = dt.date(*parts)
        elif precision == "month":
            first = dt.date(parts[0], parts[1], 1)
            following = dt.date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
            last = following - dt.timedelta(days=1)
        else:
            first, last = dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    except ValueError:
        return None
    return Day(first, last, precision)


def text(day: Day, lang: str = "en") -> str:
    """One date: "5 May 2026" / "5. Mai 2026", "May 2026", "2026"."""
    months = MONTHS.get(lang, MONTHS["en"])
    if day.precision == "year":
        return str(day.first.year)
    month = months[day.first.month - 1]
    if day.precision == "month":
        return f"{month} {day.first.year}"
    return f"{day.first.day}. {month} {day.first.year}" if lang == "de" else f"{day.first.day} {month} {day.first.year}"


def span(start: Day | None, end: Day | None, lang: str = "en") -> str:
    """A period, shortened where the parts agree: "5–8 May 2026", "30 April – 2 May 2026"."""
    if start is None and end is None:
        return ""
    if start is None:
        return ("bis " if lang == "de" else "until ") + text(end, lang)
    if end is None or end == start:
        return text(start, lang)
    if start.precision == end.precision == "day":
        a, b = start.first, end.first
        months = MONTHS.get(lang, MONTHS["en"])
        dot = "." if lang == "de" else ""
        if a.year == b.year and a.month == b.month:
            return f"{a.day}{dot}–{text(end, lang)}"
        if a.year == b.year:
            return f"{a.day}{dot} {months[a.month - 1]} – {text(end, lang)}"
    if start.precision == end.precision == "year":
        return f"{start.first.year}–{end.first.year}"
    return f"{text(start, lang)} – {text(end, lang)}"


def years(start: Day | None, end: Day | None) -> str:
    """A period in years, for roles: "2024–25", "2018–2026", "since 2018"."""
    if start is None:
        return ""
    if end is None:
        return str(start.first.year)
    a, b = start.first.year, end.first.year
    if a == b:
        return str(a)
    if a // 100 == b // 100 and b - a < 10:
        return f"{a}–{b % 100:02d}"
    return f"{a}–{b}"
