"""Time-bound statements in the real graph: every office, chair and membership
carries a period or an as-of date, and none that has ended is told in the
present tense (compared with the build date, today)."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import pytest
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import DCTERMS, RDF, SKOS

from citydiplo.graph.load import load

CD = Namespace("https://w3id.org/citydiplo/def/")
CDI = Namespace("https://w3id.org/citydiplo/id/")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")

#: Present-tense wording that must not describe a role that has ended.
PRESENT = re.compile(
    r"\b(?:is|remains|serves as|currently|still)\b[^.;]{0,40}?"
    r"\b(?:mayor|president|high commissioner|chair|co-chair|co-lead|head|member|co-facilitator)\b"
    r"|\b(?:chairs|presides over|co-chairs|co-leads|co-facilitates)\b",
    re.IGNORECASE,
)


#: A meeting's text saying that someone chairs it now (the verb, not the noun "the chairs").
CHAIRS_NOW = re.compile(
    r"\b(?:chairs|presides over|is chairing)\s+(?:the|this)\s+(?:forum|meeting|summit|session)", re.IGNORECASE
)


def period_end(value) -> dt.date:
    """The last day covered by an xsd:date, gYearMonth or gYear value."""
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = map(int, text.split("-"))
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 12, 31)
    raise ValueError(f"not a date, year-month or year: {text!r}")


def english(graph: Graph, node, *props) -> list[str]:
    return [
        str(v) for p in props for v in graph.objects(node, p) if isinstance(v, Literal) and v.language in ("en", None)
    ]


def undated_roles(graph: Graph) -> list[str]:
    """Memberships and tenures with neither a start date nor an as-of date."""
    found = []
    for cls in (ORG.Membership, CD.Tenure):
        for node in graph.subjects(RDF.type, cls):
            if (node, SCHEMA.startDate, None) not in graph and (node, CD.asOf, None) not in graph:
                owner = next(graph.subjects(ORG.hasMembership, node), node)
                found.append(f"{owner}: {cls.split('/')[-1].split('#')[-1]} without period or as-of date")
    return found


def present_tense_after_end(graph: Graph, today: dt.date) -> list[str]:
    """Ended memberships and tenures, and holders whose every membership and
    tenure has ended, whose English text still speaks in the present tense;
    tenures past their cd:validUntil without an end."""
    found = []
    ended_by_holder: dict = {}
    for cls in (ORG.Membership, CD.Tenure):
        for node in graph.subjects(RDF.type, cls):
            end = graph.value(node, SCHEMA.endDate)
            ended = end is not None and period_end(end) < today
            holder = graph.value(node, CD.holder) or next(graph.subjects(ORG.hasMembership, node), None)
            if holder is not None:
                ended_by_holder.setdefault(holder, []).append(ended)
            if ended:
                for text in english(graph, node, SKOS.prefLabel, SKOS.definition, SKOS.note):
                    if PRESENT.search(text):
                        found.append(f"{node}: ended {end} but says {text!r}")
            valid = graph.value(node, CD.validUntil)
            if end is None and valid is not None and dt.date.fromisoformat(str(valid)) < today:
                found.append(f"{node}: valid until {valid}, past, and no end date")
    for holder, ends in ended_by_holder.items():
        if all(ends):
            for text in english(graph, holder, SKOS.definition, SKOS.note):
                if PRESENT.search(text):
                    found.append(f"{holder}: every office has ended but says {text!r}")
    return found


def present_tense_chairs_of_past_meetings(graph: Graph, today: dt.date) -> list[str]:
    found = []
    for meeting in set(graph.subjects(CD.chair, None)):
        last = graph.value(meeting, SCHEMA.endDate) or graph.value(meeting, SCHEMA.startDate)
        if last is None or period_end(last) >= today:
            continue
        for text in english(graph, meeting, SKOS.definition, SKOS.note):
            if CHAIRS_NOW.search(text):
                found.append(f"{meeting}: held by {last} but says {text!r}")
    return found


@pytest.fixture(scope="module")
def graph(real_project) -> Graph:
    return load(real_project).graph


def test_period_end_covers_the_whole_period():
    assert period_end(Literal("2026-09")) == dt.date(2026, 9, 30)
    assert period_end(Literal("2024-02")) == dt.date(2024, 2, 29)
    assert period_end(Literal("2016")) == dt.date(2016, 12, 31)
    assert period_end(Literal("2025-12-31")) == dt.date(2025, 12, 31)
    with pytest.raises(ValueError):
        period_end(Literal("spring 2020"))


def test_every_membership_and_tenure_has_a_period_or_as_of_date(graph):
    assert undated_roles(graph) == []


def test_the_graph_records_tenures_and_memberships(graph):
    assert len(set(graph.subjects(RDF.type, CD.Tenure))) >= 10
    assert len(set(graph.subjects(RDF.type, ORG.Membership))) >= 10


def test_every_chair_and_host_statement_is_dated_by_its_meeting(graph):
    undated = [
        f"{meeting} {prop}"
        for prop in (CD.chair, CD.host)
        for meeting in set(graph.subjects(prop, None))
        if graph.value(meeting, SCHEMA.startDate) is None
    ]
    assert undated == []


def test_every_plain_membership_has_an_as_of_date_through_a_source(graph):
    """org:memberOf carries no period itself: at least one of the member's
    sources must say as of when its facts hold (cd:asOf or dcterms:issued)."""
    missing = []
    for member, organisation in graph.subject_objects(ORG.memberOf):
        sources = list(graph.objects(member, DCTERMS.source))
        if not any((s, CD.asOf, None) in graph or (s, DCTERMS.issued, None) in graph for s in sources):
            missing.append(f"{member} org:memberOf {organisation}")
    assert missing == []


def test_no_ended_role_is_told_in_the_present_tense(graph):
    assert present_tense_after_end(graph, dt.date.today()) == []


def test_no_past_meeting_says_its_chair_chairs(graph):
    assert present_tense_chairs_of_past_meetings(graph, dt.date.today()) == []


def test_the_checks_catch_present_tense_after_the_end():
    """The checks find what they are meant to find (a made-up graph)."""
    g = Graph()
    tenure, person, meeting = CDI["tenure-x"], CDI["person-x"], CDI["meeting-x"]
    g.add((tenure, RDF.type, CD.Tenure))
    g.add((tenure, CD.holder, person))
    g.add((tenure, SCHEMA.endDate, Literal("2024-05")))
    g.add((tenure, SKOS.definition, Literal("X is the Mayor of Y.", lang="en")))
    g.add((person, SKOS.definition, Literal("The mayor who currently leads Y as its mayor.", lang="en")))
    g.add((meeting, CD.chair, person))
    g.add((meeting, SCHEMA.startDate, Literal("2022-05-17")))
    g.add((meeting, SKOS.note, Literal("The President chairs the forum.", lang="en")))
    undated = CDI["tenure-y"]
    g.add((undated, RDF.type, CD.Tenure))
    stale = CDI["tenure-z"]
    g.add((stale, RDF.type, CD.Tenure))
    g.add((stale, SCHEMA.startDate, Literal("2020")))
    g.add((stale, CD.validUntil, Literal("2025-01-01")))
    today = dt.date(2026, 12, 3)
    problems = present_tense_after_end(g, today)
    assert any("tenure-x" in p for p in problems)
    assert any("person-x" in p for p in problems)
    assert any("tenure-z" in p for p in problems)
    assert any("meeting-x" in p for p in present_tense_chairs_of_past_meetings(g, today))
    assert f"{undated}: Tenure without period or as-of date" in undated_roles(g)
    assert not any("tenure-z" in p for p in undated_roles(g))
    # the same tenure told in the past tense passes
    g.set((tenure, SKOS.definition, Literal("X was the Mayor of Y until May 2024.", lang="en")))
    g.set((person, SKOS.definition, Literal("A former mayor of Y.", lang="en")))
    assert not any("tenure-x" in p or "person-x" in p for p in present_tense_after_end(g, today))
