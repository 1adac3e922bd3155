"""Dates as readers read them, the timeline (newest first), the "What's next"
page and the calendar feed — built from one list of dated things."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from icalendar import Calendar
from rdflib import Literal
from rdflib.namespace import XSD as _XSD

from citydiplo.graph.load import load
from citydiplo.graph.views import GraphView
from citydiplo.site import dates, events
from citydiplo.site.build import build_site
from citydiplo.site.compile import compile_pages

from .conftest import browser_dom, require_tool


def day(text, datatype=_XSD.date):
    return dates.parse(Literal(text, datatype=datatype))


def test_dates_are_checked_and_read_naturally():
    assert dates.span(day("2026-05-05"), day("2026-05-08")) == "5–8 May 2026"
    assert dates.span(day("2026-04-30"), day("2026-05-02")) == "30 April – 2 May 2026"
    assert dates.span(day("2025-12-30"), day("2026-01-02")) == "30 December 2025 – 2 January 2026"
    assert dates.span(day("2026-05-05"), day("2026-05-08"), "de") == "5.–8. Mai 2026"
    assert dates.span(day("2027-06", _XSD.gYearMonth), None) == "June 2027"
    assert dates.text(day("2027", _XSD.gYear), "de") == "2027"
    assert dates.years(day("2024", _XSD.gYear), day("2025", _XSD.gYear)) == "2024–25"
    assert dates.years(day("2018", _XSD.gYear), day("2026", _XSD.gYear)) == "2018–26"
    assert dates.years(day("1999", _XSD.gYear), day("2026", _XSD.gYear)) == "1999–2026"
    # anything that is not a checked date is not a date
    for bad in (Literal("2026-02-30", datatype=_XSD.date), Literal("{{ 7*7 }}"), Literal("2026-05-05")):
        assert dates.parse(bad) is None
    assert day("2027-02", _XSD.gYearMonth).last == dt.date(2027, 2, 28)


MEETINGS = """@prefix cd: <https://w3id.org/citydiplo/def/> .
@prefix cdi: <https://w3id.org/citydiplo/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

cdi:gfmd-summit-2020 a cd:Meeting ;
    skos:prefLabel "12th GFMD Summit"@en , "12. GFMD-Gipfel"@de ;
    skos:definition "A past summit."@en , "Ein vergangener Gipfel."@de ;
    schema:superEvent cdi:gfmd ;
    schema:startDate "2021-01-19"^^xsd:date ;
    schema:endDate "2021-01-26"^^xsd:date ;
    dcterms:source <https://www.gfmd.org/> ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:gfmd-summit-2099 a cd:Meeting ;
    skos:prefLabel "Future GFMD Summit"@en , "Künftiger GFMD-Gipfel"@de ;
    skos:definition "A summit far ahead."@en , "Ein Gipfel in ferner Zukunft."@de ;
    schema:superEvent cdi:gfmd ;
    schema:startDate "2099-05-05"^^xsd:date ;
    schema:endDate "2099-05-08"^^xsd:date ;
    dcterms:source <https://www.gfmd.org/> ;
    cd:lastChecked "2026-11-22"^^xsd:date .

cdi:gfmd-summit-2098 a cd:Meeting ;
    skos:prefLabel "GFMD Summit known by its year"@en , "GFMD-Gipfel, nur das Jahr bekannt"@de ;
    skos:definition "A summit whose day is not yet published."@en , "Ein Gipfel, dessen Tag noch nicht feststeht."@de ;
    schema:superEvent cdi:gfmd ;
    schema:startDate "2098"^^xsd:gYear ;
    dcterms:source <https://www.gfmd.org/> ;
    cd:lastChecked "2026-11-22"^^xsd:date .
"""


@pytest.fixture
def view(project):
    (project.root / "vocab" / "data" / "meetings.ttl").write_text(MEETINGS, encoding="utf-8")
    return GraphView(load(project).graph, project, "en")


def test_events_and_pages(project, view, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2026, 12, 3, tzinfo=dt.UTC).timestamp())))
    found = events.collect(view)
    assert found, "the test graph has dated meetings"
    assert [e.start.first for e in found] == sorted(e.start.first for e in found)
    pages = compile_pages(GraphView(view.graph, project, "en"))
    timeline = pages["reference/generated/timeline.md"]
    years = [line[3:] for line in timeline.splitlines() if line.startswith("## ")]
    assert years == sorted(years, reverse=True)  # newest first
    assert 'class="citydiplo-events-data"' in timeline
    upcoming = pages["reference/generated/upcoming.md"]
    assert "# What's next" in upcoming.replace("\\", "")
    text = upcoming.replace("\\", "")
    assert "3 December 2026" in text
    assert text.index("Future GFMD Summit") < text.index("## In the last twelve months")
    assert text.index("GFMD Summit known by its year") < text.index("Future GFMD Summit")
    assert "5–8 May 2099" in text and "month and day not yet published" in text


def test_calendar_feed_is_valid_and_stable(view):
    feed = events.calendar(events.collect(view), view)
    assert feed == events.calendar(events.collect(view), view)  # same data, same bytes
    cal = Calendar.from_ical(feed)
    assert str(cal["version"]) == "2.0"
    entries = cal.walk("VEVENT")
    for entry in entries:
        assert str(entry["uid"]).startswith(view.project.id_ns)
        start, end = entry.decoded("dtstart"), entry.decoded("dtend")
        assert isinstance(start, dt.date) and end > start
    dated_to_the_day = [e for e in events.collect(view) if e.start.precision == "day"]
    assert len(entries) == len(dated_to_the_day) == 2


def test_browser_marks_today_and_hides_what_passed(project, view):
    require_tool("chromium", "runs the dated lists' script as a reader's browser would")
    site = build_site(project, jobs=1, status=io.StringIO())
    assert (site / "calendar.ics").is_file()
    page = site / "reference" / "generated" / "timeline.html"
    dom = browser_dom(page.as_uri(), "runs the dated lists' script as a reader's browser would")
    assert 'class="citydiplo-today"' in dom
    # the future summit is marked ahead, the past one is after the marker
    assert dom.index("citydiplo-ahead") < dom.index('class="citydiplo-today"') < dom.index("12th GFMD Summit")
