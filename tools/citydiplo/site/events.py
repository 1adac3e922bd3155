"""Dated things of the graph — meetings, documents, deadlines — in one list,
for the timeline, the "What's next" page and the calendar feed.

An event has a checked start (and maybe an end), the precision the source
gives, the kind, and its sources. Whether it lies ahead is decided twice: at
build time for readers without JavaScript (the page says "as of" the build
date), and in the reader's browser from the same data
(``conf/_static/citydiplo-dates.js``), so the pages do not freeze at the
build date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from ..graph.views import GraphView
from . import dates

SCHEMA = "https://schema.org/"


@dataclass(frozen=True)
class Event:
    node: URIRef
    slug: str
    label: str
    kind_key: str  # meetings, documents, deadlines
    kind_label: str
    start: dates.Day
    end: dates.Day | None
    definition: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last(self) -> dt.date:
        """The last day the event may still be ahead (its end, or the end of its precision)."""
        return (self.end or self.start).last

    def ahead(self, today: dt.date) -> bool:
        return self.last >= today

    def as_json(self) -> dict:
        return {
            "slug": self.slug,
            "start": self.start.iso,
            "end": self.end.iso if self.end else None,
            "first": self.start.first.isoformat(),
            "last": self.last.isoformat(),
            "precision": self.start.precision,
        }


def collect(view: GraphView) -> list[Event]:
    """Every entity with a checked date, oldest first (ties by label)."""
    graph, cd = view.graph, view.cd
    deadline = URIRef(cd + "deadline")
    web_page = URIRef(cd + "WebPage")
    found = []
    for node in view.entities:
        if (node, RDF.type, web_page) in graph:
            continue  # a web page cited as a source is not an event of migration diplomacy
        kind = view.kind(node)
        start_value = graph.value(node, URIRef(SCHEMA + "startDate"))
        end_value = graph.value(node, URIRef(SCHEMA + "endDate"))
        key = kind.key if kind is not None else ""
        if start_value is None and key == "documents":
            start_value = graph.value(node, DCTERMS.issued)
        if start_value is None and graph.value(node, deadline) is not None:
            start_value, end_value, key = graph.value(node, deadline), None, "deadlines"
        start = dates.parse(start_value)
        if start is None or key not in ("meetings", "documents", "deadlines"):
            continue
        end = dates.parse(end_value)
        if end is not None and end.last < start.first:
            end = None  # validation reports it; the page shows the start only
        cls = view.main_class(node)
        found.append(
            Event(
                node=node,
                slug=view.slug(node),
                label=view.label(node),
                kind_key=key,
                kind_label=view.label(cls) if cls is not None else "",
                start=start,
                end=end,
                definition=view.text(node, SKOS.definition) or "",
                sources=tuple(sorted(str(s) for s in graph.objects(node, DCTERMS.source))),
            )
        )
    found.sort(key=lambda e: (e.start.first, e.last, e.label.casefold()))
    return found


def calendar(events: list[Event], view: GraphView) -> bytes:
    """An iCalendar feed (RFC 5545) of the events dated to the day.

    Events known only by month or year are left out: a calendar cannot say
    "some day in 2027" without inventing a day. Stable UIDs (the IRIs) and
    DTSTAMPs (the date the fact was last checked) keep the file identical
    between builds of the same data.
    """
    from icalendar import Calendar
    from icalendar import Event as VEvent

    cal = Calendar()
    cal.add("prodid", f"-//{view.project.name}//citydiplo//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", view.ui("calendar_name"))
    checked_prop = URIRef(view.cd + "lastChecked")
    for event in events:
        if event.start.precision != "day" or (event.end is not None and event.end.precision != "day"):
            continue
        entry = VEvent()
        entry.add("uid", str(event.node))
        entry.add("summary", event.label)
        entry.add("dtstart", event.start.first)
        entry.add("dtend", event.last + dt.timedelta(days=1))  # all-day events end the day after
        checked = dates.parse(view.graph.value(event.node, checked_prop))
        stamp = checked.first if checked else event.start.first
        entry.add("dtstamp", dt.datetime(stamp.year, stamp.month, stamp.day, tzinfo=dt.UTC))
        entry.add("url", str(event.node))
        description = event.definition
        if event.sources:
            description += "\n\n" + view.ui("sources") + ": " + ", ".join(event.sources)
        entry.add("description", description)
        entry.add("categories", [event.kind_label])
        cal.add_component(entry)
    return cal.to_ical()
