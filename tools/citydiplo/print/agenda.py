"""The agenda of a course pack: the module's session table with clock times.

A module's landing page has a session table (``## Sessions``): one row per
session with its number, its title and its length in minutes, either one
length column (the full day; the half day is then named in the sentence
"Half-day version …: sessions 1, 2, 3, 5, 6 and 10") or two (full day and
half day, "–" for a session the half day leaves out). The builder
(:mod:`citydiplo.print.builder`) reads the table from the built page, so a
German pack gets the German titles; :func:`make_agenda` lays the sessions
out from a start time with the break pattern of ``conf/coursepacks.toml``
(``[settings.agenda]``): a break comes at the first session boundary after
its ``after`` minutes of sessions. Sessions are never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DAYS = ("full", "half")
BREAK_KINDS = ("break", "lunch")

#: The default break pattern: 15 minutes mid-morning and mid-afternoon and
#: an hour's lunch for the full day; one 15-minute break for the half day.
DEFAULT_BREAKS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "full": ((90, 15, "break"), (180, 60, "lunch"), (270, 15, "break")),
    "half": ((90, 15, "break"),),
}
DEFAULT_START = "09:00"

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MINUTES_RE = re.compile(r"^(\d+)(?:\s*(?:min|Min)\.?)?$")
SKIPPED = {"–", "—", "-", ""}
HALF_DAY_RE = re.compile(
    r"half-day version[^:]*:\**\s*sessions\s+((?:\d+\s*,\s*)*\d+(?:\s*,?\s*and\s+\d+)?)", re.IGNORECASE | re.DOTALL
)


class AgendaError(ValueError):
    """A start time or break pattern that cannot be used."""


@dataclass(frozen=True)
class Break:
    after: int  # minutes of sessions before it
    minutes: int
    kind: str  # "break" or "lunch"


@dataclass(frozen=True)
class AgendaSettings:
    start: str = DEFAULT_START
    breaks: dict[str, tuple[Break, ...]] = field(
        default_factory=lambda: {
            day: tuple(Break(*entry) for entry in entries) for day, entries in DEFAULT_BREAKS.items()
        }
    )


def parse_time(text: str) -> int:
    """``09:00`` → minutes after midnight."""
    match = TIME_RE.match(text.strip())
    if not match:
        raise AgendaError(f"{text!r} is not a time of day: write HH:MM, e.g. 09:00")
    return int(match[1]) * 60 + int(match[2])


def clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def parse_breaks(entries, where: str) -> tuple[Break, ...]:
    """``[{after = 90, minutes = 15, label = "break"}, …]`` from the TOML file."""
    breaks = []
    if not isinstance(entries, list):
        raise AgendaError(f'{where}: a list of {{after = MIN, minutes = MIN, label = "break"|"lunch"}}')
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"after", "minutes", "label"}:
            raise AgendaError(f'{where}: each break is {{after = MIN, minutes = MIN, label = "break"|"lunch"}}')
        after, minutes, label = entry.get("after"), entry.get("minutes"), entry.get("label", "break")
        if not isinstance(after, int) or not isinstance(minutes, int) or after < 0 or minutes <= 0:
            raise AgendaError(f"{where}: 'after' and 'minutes' must be whole minutes (got {entry})")
        if label not in BREAK_KINDS:
            raise AgendaError(f"{where}: label must be one of {', '.join(BREAK_KINDS)} (got {label!r})")
        breaks.append(Break(after, minutes, label))
    return tuple(sorted(breaks, key=lambda b: b.after))


def load_agenda_settings(data: dict, where: str) -> AgendaSettings:
    """``[settings.agenda]``: ``start``, ``full_day_breaks``, ``half_day_breaks`` (all optional)."""
    unknown = sorted(set(data) - {"start", "full_day_breaks", "half_day_breaks"})
    if unknown:
        raise AgendaError(f"{where}: unknown key(s) {', '.join(unknown)}")
    defaults = AgendaSettings()
    start = str(data.get("start", defaults.start))
    try:
        parse_time(start)
    except AgendaError as exc:
        raise AgendaError(f"{where}: start: {exc}") from None
    breaks = dict(defaults.breaks)
    for day in DAYS:
        key = f"{day}_day_breaks"
        if key in data:
            breaks[day] = parse_breaks(data[key], f"{where}: {key}")
    return AgendaSettings(start=start, breaks=breaks)


# ------------------------------------------------------------ the session table
def minutes_cell(text: str) -> int | bool | None:
    """``45``, ``45 min`` → 45; ``–`` → None (skipped); anything else → False."""
    text = text.strip().strip("*").strip()
    if text in SKIPPED:
        return None
    match = MINUTES_RE.match(text)
    return int(match[1]) if match else False


def sessions_from_rows(rows: list[list[str]], half_day_numbers: list[int] | None) -> list[dict]:
    """The sessions of a table's body rows: ``#``, title, …, minutes (full[, half])."""
    sessions = []
    for cells in rows:
        if len(cells) < 3 or not cells[0].strip().isdigit():
            continue  # the total row has no number
        number = int(cells[0])
        tail = []
        for cell in reversed(cells[2:]):
            value = minutes_cell(cell)
            if value is False:
                break
            tail.insert(0, value)
        if not tail or tail[0] is None:
            return []  # not a session table
        full = tail[-2] if len(tail) >= 2 else tail[-1]
        if len(tail) >= 2:
            half = tail[-1]
        elif half_day_numbers is not None:
            half = full if number in half_day_numbers else None
        else:
            half = full
        sessions.append({"number": number, "title": cells[1].strip(), "full": full, "half": half})
    return sessions if len(sessions) >= 2 else []


def half_day_numbers(source: str) -> list[int] | None:
    """The session numbers of "Half-day version …: sessions 1, 2, 3 and 10" in a page's source."""
    match = HALF_DAY_RE.search(source)
    if not match:
        return None
    return [int(n) for n in re.findall(r"\d+", match[1])]


# ------------------------------------------------------------ clock times
def make_agenda(sessions: list[dict], day: str, start: str, breaks: tuple[Break, ...]) -> dict:
    """The day's rows with start and end times: sessions, and breaks between
    them where the pattern asks for one. Returns ``{"rows", "start", "end",
    "session_minutes", "break_minutes"}``."""
    if day not in DAYS:
        raise AgendaError(f"unknown day {day!r}: choose {' or '.join(DAYS)}")
    chosen = [s for s in sessions if s[day]]
    now = parse_time(start)
    pending = list(breaks)
    rows = []
    elapsed = 0
    session_minutes = break_minutes = 0
    for index, session in enumerate(chosen):
        minutes = session[day]
        rows.append(
            {
                "kind": "session",
                "number": session["number"],
                "title": session["title"],
                "minutes": minutes,
                "start": clock(now),
                "end": clock(now + minutes),
            }
        )
        now += minutes
        elapsed += minutes
        session_minutes += minutes
        if index < len(chosen) - 1 and pending and pending[0].after <= elapsed:
            pause = pending.pop(0)
            rows.append(
                {
                    "kind": pause.kind,
                    "number": None,
                    "title": pause.kind,
                    "minutes": pause.minutes,
                    "start": clock(now),
                    "end": clock(now + pause.minutes),
                }
            )
            now += pause.minutes
            break_minutes += pause.minutes
    return {
        "day": day,
        "rows": rows,
        "start": start,
        "end": clock(now),
        "session_minutes": session_minutes,
        "break_minutes": break_minutes,
    }
