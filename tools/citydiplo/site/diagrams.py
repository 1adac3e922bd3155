"""Diagrams drawn from the graph: the forum architecture and each forum's
access routes, as SVG with a deterministic layout (no Graphviz).

* :func:`architecture` — the forums that local governments can get into
  (every ``cd:Forum`` with a ``cd:hasAccessOption``), what sits above them
  (the frameworks they ``cd:reviews`` and the bodies they are
  ``cd:organisedBy``), the channels of the cities (the ``cd:via`` of their
  access options, what ``dcterms:isPartOf`` them) and the networks that lead
  those channels (``cd:initiatedBy``, co-lead memberships). Rows of boxes,
  top to bottom.
* :func:`routes` — one forum's access routes (its own and its meetings'
  ``cd:hasAccessOption``): the forum, its routes, and the bodies they run
  through, in three columns.

Both return a :class:`Diagram`; :func:`render_svg` writes it, every label
through :func:`citydiplo.escape.html_text` / :func:`~citydiplo.escape.html_attr`
and every box a link (the caller says where an entity's page is). The same
graph gives the same bytes. :attr:`Diagram.relations` is the text alternative
shown under the drawing.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import RDF, URIRef
from rdflib.namespace import DCTERMS, ORG

from ..escape import html_attr, html_text

SCHEMA = "https://schema.org/"

#: What the directive accepts: ``architecture`` or ``routes <forum-slug>``
KINDS = ("architecture", "routes")

WIDTH = 720
#: The widest drawing on a slide: at 226 mm wide, a text FONT units high is 9.3 pt
SLIDE_WIDTH = 960
MARGIN = 16
GAP = 16
FONT = 14
LINE = 17
PAD = 10
PER_ROW = 4
BOX_WIDTH = 160

#: Box styles by role: (fill, stroke, text colour); contrast ≥ 7:1
STYLES = {
    "forum": ("#16325c", "#16325c", "#ffffff"),
    "above": ("#e9eef5", "#4a5d78", "#111111"),
    "channel": ("#fdf3e1", "#8a5a00", "#111111"),
    "network": ("#ffffff", "#4a5d78", "#111111"),
    "route": ("#eaf4ec", "#2e6b3a", "#111111"),
}
#: Line styles by relation: (stroke, dash pattern)
EDGE_STYLES = {
    "reviews": ("#16325c", ""),
    "organisedBy": ("#4a5d78", "6 4"),
    "via": ("#8a5a00", ""),
    "isPartOf": ("#8a5a00", "2 3"),
    "leads": ("#4a5d78", "2 3"),
    "route": ("#2e6b3a", ""),
}


class DiagramError(ValueError):
    """A diagram that cannot be drawn (an unknown kind or forum)."""


@dataclass
class Box:
    slug: str
    label: str
    role: str
    x: float = 0
    y: float = 0
    w: float = 0
    lines: list[str] = field(default_factory=list)
    pad: float = PAD  # above and below the text

    @property
    def h(self) -> float:
        return len(self.lines) * LINE + 2 * self.pad


@dataclass
class Diagram:
    """A drawing and its text alternative."""

    key: str  # architecture, routes-gfmd: the element ids' stem
    title: str
    description: str
    boxes: list[Box]
    edges: list[tuple[str, str, str]]  # (upper or left slug, lower or right slug, relation key)
    relations: list[tuple[str, str, str]]  # (subject slug, relation in words, object slug)
    legend: list[tuple[str, str]]  # (relation key, words)
    width: float = WIDTH
    height: float = 0
    legend_top: float = 0
    legend_font: int = 12

    def box(self, slug: str) -> Box:
        return next(box for box in self.boxes if box.slug == slug)


def wrap(label: str, width_px: float) -> list[str]:
    """The label in lines that fit ``width_px`` (about 0.55 em a character); at most four."""
    chars = max(8, int(width_px / (FONT * 0.56)))
    lines = textwrap.wrap(label, chars, break_long_words=True) or [label]
    if len(lines) > 4:
        lines = lines[:4]
        lines[3] = lines[3][: chars - 1].rstrip() + "…"
    return lines


# ------------------------------------------------------------------ graph
def _cd(view, name: str) -> URIRef:
    return URIRef(view.cd + name)


def forums_with_routes(view) -> list[URIRef]:
    """Every forum with access options, in slug order."""
    forum = _cd(view, "Forum")
    option = _cd(view, "hasAccessOption")
    found = {s for s in view.graph.subjects(RDF.type, forum) if (s, option, None) in view.graph}
    return sorted(found, key=view.slug)


def _options(view, event) -> list:
    return sorted(view.graph.objects(event, _cd(view, "hasAccessOption")), key=str)


def _entity_objects(view, subject, prop) -> list[URIRef]:
    return sorted((o for o in view.graph.objects(subject, prop) if view.is_entity(o)), key=view.slug)


def _events_of(view, forum) -> list[URIRef]:
    """The forum and every meeting below it (schema:superEvent, any depth)."""
    super_event = URIRef(SCHEMA + "superEvent")
    found, todo = [forum], [forum]
    while todo:
        current = todo.pop()
        for meeting in sorted(view.graph.subjects(super_event, current), key=str):
            if meeting not in found:
                found.append(meeting)
                todo.append(meeting)
    return found


def _relation(view, name: str) -> str:
    return view.label(_cd(view, name))


def _architecture_graph(view) -> tuple[dict[str, int], list[Box], list, list, list]:
    """What the architecture diagram shows: each box's tier (0 above the
    forums, 1 forums, 2 channels, 3 networks), the boxes, the edges, the
    relations and the legend (every relation kind)."""
    forums = forums_with_routes(view)
    tiers: dict[str, int] = {}  # slug → tier (0 above, 1 forums, 2 channels, 3 networks)
    roles = {0: "above", 1: "forum", 2: "channel", 3: "network"}
    edges: list[tuple[str, str, str]] = []
    relations: list[tuple[str, str, str]] = []

    def place(node, tier: int) -> str:
        slug = view.slug(node)
        tiers.setdefault(slug, tier)
        return slug

    for forum in forums:
        place(forum, 1)
    for forum in forums:
        f = view.slug(forum)
        for framework in _entity_objects(view, forum, _cd(view, "reviews")):
            edges.append((place(framework, 0), f, "reviews"))
            relations.append((f, _relation(view, "reviews"), view.slug(framework)))
        for body in _entity_objects(view, forum, _cd(view, "organisedBy")):
            edges.append((place(body, 0), f, "organisedBy"))
            relations.append((f, _relation(view, "organisedBy"), view.slug(body)))
    channels: list[URIRef] = []
    all_vias = {
        via
        for forum in forums
        for option in _options(view, forum)
        for via in view.graph.objects(option, _cd(view, "via"))
    }
    for forum in forums:
        f = view.slug(forum)
        vias: dict[URIRef, list[str]] = {}
        for option in _options(view, forum):
            route = next(iter(sorted(view.graph.objects(option, _cd(view, "route")), key=str)), None)
            for via in _entity_objects(view, option, _cd(view, "via")):
                vias.setdefault(via, [])
                if route is not None and view.label(route) not in vias[via]:
                    vias[via].append(view.label(route))
        for part in sorted(view.graph.subjects(DCTERMS.isPartOf, forum), key=str):
            if view.is_entity(part) and part in all_vias:  # a city channel, not another forum body
                c = place(part, 2)
                channels.append(part)
                edges.append((f, c, "isPartOf"))
                relations.append((c, view.label(DCTERMS.isPartOf), f))
        for via, route_labels in sorted(vias.items(), key=lambda item: view.slug(item[0])):
            c = place(via, 2)
            channels.append(via)
            edges.append((f, c, "via"))
            words = view.ui("diagram_route_into")
            if route_labels:
                words = f"{words} ({', '.join(sorted(route_labels))})"
            relations.append((c, words, f))
    co_lead = view.node("role-co-lead")
    for channel in dict.fromkeys(channels):
        c = view.slug(channel)
        leads: dict[str, str] = {}
        for actor in _entity_objects(view, channel, _cd(view, "initiatedBy")):
            leads.setdefault(view.slug(actor), _relation(view, "initiatedBy"))
        for membership in view.graph.subjects(ORG.organization, channel):
            if (None, ORG.hasMembership, membership) not in view.graph:
                continue
            if co_lead not in set(view.graph.objects(membership, ORG.role)):
                continue
            for actor in view.graph.subjects(ORG.hasMembership, membership):
                if view.is_entity(actor):
                    leads[view.slug(actor)] = view.label(co_lead)
        for actor, words in sorted(leads.items()):
            a = place(view.node(actor), 3)
            if a != c:
                edges.append((c, a, "leads"))
                relations.append((a, words, c))
    boxes = [Box(slug, view.label(view.node(slug)), roles[tier]) for slug, tier in tiers.items()]
    legend = [
        ("reviews", _relation(view, "reviews")),
        ("organisedBy", _relation(view, "organisedBy")),
        ("via", view.ui("diagram_route_into")),
        ("isPartOf", view.label(DCTERMS.isPartOf)),
        ("leads", f"{view.label(co_lead)}, {_relation(view, 'initiatedBy')}"),
    ]
    return tiers, boxes, _unique(edges), _unique(relations), legend


def architecture(view, per_row: int = PER_ROW) -> Diagram:
    """The forums, what is above them, the cities' channels and who leads them;
    at most ``per_row`` boxes side by side."""
    tiers, boxes, edges, relations, legend = _architecture_graph(view)
    used = {kind for _, _, kind in edges}
    diagram = Diagram(
        key="architecture",
        title=view.ui("diagram_architecture"),
        description=view.ui("diagram_architecture_desc"),
        boxes=boxes,
        edges=edges,
        relations=relations,
        legend=[item for item in legend if item[0] in used],
        width=2 * MARGIN + per_row * BOX_WIDTH + (per_row - 1) * GAP,
    )
    _layout_rows(diagram, per_row, [[b for b in boxes if tiers[b.slug] == t] for t in range(4)])
    return diagram


#: The architecture on slides: two rows of boxes a slide, boxes
#: ``SLIDE_BOX_WIDTH`` wide, as many side by side (of ``SLIDE_PER_ROW``) as
#: need the fewest rows and draw the text largest in the room a slide gives;
#: at most 4, so that the drawing is narrow enough for its text to reach
#: 9 pt on a 16:9 slide
SLIDE_PER_ROW = (2, 3, 4)
SLIDE_BOX_WIDTH = 200
#: The room for a drawing on a slide below a one-line title (mm)
SLIDE_ROOM = (226.0, 100.0)
#: The parts' titles, in their order
PART_TITLES = ("diagram_architecture_above", "diagram_architecture_channels", "diagram_architecture_leads")
#: Which part draws a line, by its relation: what is above the forums, the
#: cities' channels into them, who leads the channels
PART_OF_RELATION = {"reviews": 0, "organisedBy": 0, "via": 1, "isPartOf": 1, "leads": 2}


def architecture_parts(view, room: tuple[float, float] = SLIDE_ROOM) -> list[Diagram]:
    """The architecture in parts for slides, each drawn from the same graph
    data as :func:`architecture`: the forums and what is above them (the
    frameworks they review, the bodies that run them), the forums and the
    cities' channels into them, the channels and who leads them (a part
    without lines is left out). Every line is in one part, by its relation;
    a part draws two rows, the upper ends of its lines (in the first part,
    what is above; in the others, the forums and the led channels) over
    the lower ends, with the relations of its lines and their legend; its
    title ends "(1 of N)". A box keeps its place in its row's order across
    the parts. ``room``: the width and height (mm) the part is drawn into;
    of the row lengths in :data:`SLIDE_PER_ROW`, the one that needs the
    fewest rows, and of those the one that draws it largest there."""
    tiers, boxes, edges, relations, legend = _architecture_graph(view)
    order = {box.slug: i for i, box in enumerate(_in_reading_order(architecture(view, per_row=max(SLIDE_PER_ROW))))}
    by_part: dict[int, list] = {}
    for edge in edges:
        by_part.setdefault(PART_OF_RELATION[edge[2]], []).append(edge)
    forums = [slug for slug, tier in tiers.items() if tier == 1]
    parts = []
    for number, (index, lines) in enumerate(sorted(by_part.items()), start=1):
        if index == 0:  # what is above (upper ends) over the forums
            upper = {a for a, _b, _kind in lines}
            lower = set(forums)
        elif index == 1:  # the forums over their channels
            upper = set(forums)
            lower = {slug for edge in lines for slug in edge[:2]} - upper
        else:  # the led channels over those who lead them
            upper = {a for a, _b, _kind in lines}
            lower = {b for _a, b, _kind in lines} - upper
        pairs = {frozenset(edge[:2]) for edge in lines}
        used = {kind for _, _, kind in lines}
        title = view.ui("diagram_part").format(title=view.ui(PART_TITLES[index]), number=number, count=len(by_part))
        chosen = None
        for per_row in SLIDE_PER_ROW:
            own = [Box(b.slug, b.label, b.role) for b in sorted(boxes, key=lambda b: order[b.slug])]
            rows = [[b for b in own if b.slug in upper], [b for b in own if b.slug in lower]]
            part = Diagram(
                key=f"architecture-{number}",
                title=title,
                description=view.ui("diagram_architecture_desc"),
                boxes=rows[0] + rows[1],
                edges=lines,
                relations=[r for r in relations if frozenset((r[0], r[2])) in pairs],
                legend=[item for item in legend if item[0] in used],
                width=2 * MARGIN + per_row * SLIDE_BOX_WIDTH + (per_row - 1) * GAP,
                legend_font=FONT,
            )
            _layout_rows(part, per_row, rows, width=SLIDE_BOX_WIDTH, tight=True, ordered=True)
            # fewest rows first (a line to a second row of a tier runs behind the
            # first row's boxes), then the largest text
            wrapped = sum(math.ceil(len(row) / per_row) for row in rows)
            rank = (wrapped, -min(room[0] / part.width, room[1] / part.height))
            if chosen is None or rank < chosen[0]:
                chosen = (rank, part)
        parts.append(chosen[1])
    return parts


def _in_reading_order(diagram: Diagram) -> list[Box]:
    return sorted(diagram.boxes, key=lambda box: (box.y, box.x))


def routes(view, forum_slug: str, wide: bool = False) -> Diagram:
    """One forum's routes for local governments and what each runs through
    (``wide``: wider columns, for a 16:9 slide)."""
    forum = view.slugs.get(forum_slug)
    known = [view.slug(f) for f in forums_with_routes(view)]
    if forum is None or forum_slug not in known:
        raise DiagramError(
            f"no forum {forum_slug!r} with access routes in the graph "
            f"(forums with routes: {', '.join(known) or 'none'})"
        )
    name = view.label(forum)
    pairs: dict[str, list[str]] = {}  # route slug → via slugs
    for event in _events_of(view, forum):
        for option in _options(view, event):
            for route in sorted(view.graph.objects(option, _cd(view, "route")), key=str):
                if not view.is_entity(route):
                    continue
                vias = pairs.setdefault(view.slug(route), [])
                for via in _entity_objects(view, option, _cd(view, "via")):
                    if view.slug(via) not in vias:
                        vias.append(view.slug(via))
    route_slugs = sorted(pairs, key=lambda s: (view.label(view.node(s)).casefold(), s))
    via_slugs: list[str] = []
    for route in route_slugs:
        for via in sorted(pairs[route]):
            if via not in via_slugs and via != forum_slug:
                via_slugs.append(via)
    edges = [(forum_slug, route, "route") for route in route_slugs]
    edges += [(route, via, "via") for route in route_slugs for via in sorted(pairs[route]) if via in via_slugs]
    via_word = view.ui("via")
    relations = []
    for route in route_slugs:
        relations.append((forum_slug, view.label(_cd(view, "route")), route))
        for via in sorted(pairs[route]):
            relations.append((route, via_word, via))
    boxes = [Box(forum_slug, name, "forum")]
    boxes += [Box(s, view.label(view.node(s)), "route") for s in route_slugs]
    boxes += [Box(s, view.label(view.node(s)), "channel") for s in via_slugs if s != forum_slug]
    diagram = Diagram(
        key=f"routes-{forum_slug}",
        title=view.ui("diagram_routes").format(forum=name),
        description=view.ui("diagram_routes_desc").format(forum=name),
        boxes=boxes,
        edges=edges,
        relations=relations,
        legend=[("route", view.label(_cd(view, "route"))), ("via", via_word)] if via_slugs else [],
        width=SLIDE_WIDTH if wide else WIDTH,
        legend_font=FONT if wide else 12,
    )
    _layout_columns(diagram, route_slugs, via_slugs, (150, 340, 0) if wide else (170, 230, 0), tight=wide)
    return diagram


def diagram_for(view, kind: str, forum: str | None = None) -> Diagram:
    """The diagram a directive names: ``architecture`` or ``routes FORUM``."""
    if kind == "architecture" and not forum:
        return architecture(view)
    if kind == "routes" and forum:
        return routes(view, forum)
    raise DiagramError(
        f"write `architecture` or `routes FORUM` (a forum's slug), not {' '.join(filter(None, [kind, forum]))!r}"
    )


def slide_diagrams(view, kind: str, forum: str | None = None) -> list[Diagram]:
    """The diagram a directive names, laid out for 16:9 slides: the
    architecture in parts (:func:`architecture_parts`), a forum's routes
    in wide columns; every text at least :data:`FONT` units high in a drawing
    at most :data:`SLIDE_WIDTH` wide."""
    if kind == "architecture" and not forum:
        return architecture_parts(view)
    if kind == "routes" and forum:
        return [routes(view, forum, wide=True)]
    return [diagram_for(view, kind, forum)]  # raises


def _unique(items: list) -> list:
    return list(dict.fromkeys(items))


# ----------------------------------------------------------------- layout
def _layout_rows(
    diagram: Diagram,
    per_row: int,
    tiers: list[list[Box]],
    width: float = BOX_WIDTH,
    tight: bool = False,
    ordered: bool = False,
) -> None:
    """Each tier in rows of at most ``per_row`` boxes ``width`` wide, ordered
    by the mean position of the boxes they are linked to in the rows above
    (``ordered``: as given). ``tight``: less room around the text and
    between the rows, for a slide."""
    pad, between, within = (PAD / 2, GAP * 2, GAP / 2) if tight else (PAD, GAP * 3, GAP * 1.5)
    placed: dict[str, float] = {}
    neighbours: dict[str, list[str]] = {}
    for a, b, _ in diagram.edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    y = MARGIN
    forum_order = {box.slug: i for i, box in enumerate(tiers[1])}
    for index, tier in enumerate(tiers):
        if not tier:
            continue

        def key(box: Box, index=index) -> tuple:
            xs = [placed[n] for n in neighbours.get(box.slug, []) if n in placed]
            if index == 0:
                xs = [forum_order[n] * 1000 for n in neighbours.get(box.slug, []) if n in forum_order]
            return (sum(xs) / len(xs) if xs else 1e9, box.label.casefold(), box.slug)

        in_order = tier if ordered else sorted(tier, key=key)
        for start in range(0, len(in_order), per_row):
            row = in_order[start : start + per_row]
            used = len(row) * width + (len(row) - 1) * GAP
            x = (diagram.width - used) / 2
            for box in row:
                box.w, box.pad = width, pad
                box.lines = wrap(box.label, width - 2 * PAD)
            height = max(box.h for box in row)
            for box in row:
                box.x, box.y = x, y + (height - box.h) / 2
                placed[box.slug] = x + width / 2
                x += width + GAP
            y += height + (between if start + per_row >= len(in_order) else within)
    diagram.height = _with_legend(diagram, y - between + GAP)


def _layout_columns(
    diagram: Diagram, route_slugs: list[str], via_slugs: list[str], widths: tuple[int, int, int], tight: bool = False
) -> None:
    """Forum on the left, routes in the middle, the bodies they run through on
    the right; ``widths`` of the columns (0: the rest). ``tight``: less room
    around and between the boxes, so that a slide, whose height limits the
    drawing's scale, shows larger text."""
    pad, step = (PAD / 2, GAP / 4) if tight else (PAD, GAP / 2)
    one, two, three = widths
    three = three or diagram.width - 2 * MARGIN - one - two - 112
    columns = [(MARGIN, one), (MARGIN + one + 56, two), (MARGIN + one + 56 + two + 56, three)]
    by_slug = {box.slug: box for box in diagram.boxes}

    def stack(slugs: list[str], column: tuple[float, float]) -> float:
        x, width = column
        y = MARGIN
        for slug in slugs:
            box = by_slug[slug]
            box.x, box.w, box.pad = x, width, pad
            box.lines = wrap(box.label, width - 2 * PAD)
            box.y = y
            y += box.h + step
        return y

    bottom = max(stack(route_slugs, columns[1]), stack(via_slugs, columns[2]) if via_slugs else 0)
    forum = diagram.boxes[0]
    forum.x, forum.w = columns[0]
    forum.lines = wrap(forum.label, forum.w - 2 * PAD)
    forum.y = max(MARGIN, (bottom - forum.h) / 2)
    diagram.height = _with_legend(diagram, max(bottom, forum.y + forum.h + GAP) + GAP / 2)


def _legend_places(diagram: Diagram, top: float) -> list[tuple[float, float, str, str]]:
    """(x, y, relation key, words) of each legend entry, in lines that fit the width."""
    places = []
    x, y = MARGIN, top + LINE / 2
    for kind, words in diagram.legend:
        width = 34 + len(words) * diagram.legend_font * 0.58 + 20
        if x > MARGIN and x + width > diagram.width - MARGIN:
            x, y = MARGIN, y + max(LINE, diagram.legend_font + 3) + 4
        places.append((x, y, kind, words))
        x += width
    return places


def _with_legend(diagram: Diagram, y: float) -> float:
    diagram.legend_top = y
    places = _legend_places(diagram, y)
    bottom = places[-1][1] + LINE / 2 + GAP / 2 if places else y
    return bottom + MARGIN


# ----------------------------------------------------------------- SVG
def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_svg(diagram: Diagram, href: Callable[[str], str], id_prefix: str = "cd-diagram") -> str:
    """The diagram as an ``<svg>`` element: a title and a description, one link
    per box (with the box's label as its title)."""
    stem = f"{id_prefix}-{diagram.key}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="forum-diagram-svg" '
        f'viewBox="0 0 {_n(diagram.width)} {_n(diagram.height)}" width="{_n(diagram.width)}" '
        f'height="{_n(diagram.height)}" aria-labelledby="{stem}-title" aria-describedby="{stem}-desc" '
        f'font-family="Open Sans, DejaVu Sans, sans-serif" font-size="{FONT}">',
        f'<title id="{stem}-title">{html_text(diagram.title)}</title>',
        f'<desc id="{stem}-desc">{html_text(diagram.description)}</desc>',
    ]
    boxes = {box.slug: box for box in diagram.boxes}
    horizontal = diagram.key.startswith("routes-")
    for a, b, kind in diagram.edges:
        one, two = boxes[a], boxes[b]
        stroke, dash = EDGE_STYLES[kind]
        if horizontal:
            x1, y1, x2, y2 = one.x + one.w, one.y + one.h / 2, two.x, two.y + two.h / 2
            mid = (x1 + x2) / 2
            path = f"M{_n(x1)} {_n(y1)}C{_n(mid)} {_n(y1)} {_n(mid)} {_n(y2)} {_n(x2)} {_n(y2)}"
        else:
            if one.y > two.y:
                one, two = two, one
            x1, y1, x2, y2 = one.x + one.w / 2, one.y + one.h, two.x + two.w / 2, two.y
            mid = (y1 + y2) / 2
            path = f"M{_n(x1)} {_n(y1)}C{_n(x1)} {_n(mid)} {_n(x2)} {_n(mid)} {_n(x2)} {_n(y2)}"
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="{path}" fill="none" stroke="{stroke}" stroke-width="1.6"{dashes}/>')
    for box in diagram.boxes:
        fill, stroke, colour = STYLES[box.role]
        cx = box.x + box.w / 2
        first = box.y + box.pad + LINE * 0.78
        out.append(f'<a href="{html_attr(href(box.slug))}" class="forum-diagram-node">')
        out.append(f"<title>{html_text(box.label)}</title>")
        out.append(
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        )
        weight = ' font-weight="bold"' if box.role == "forum" else ""
        spans = "".join(
            f'<tspan x="{_n(cx)}" y="{_n(first + i * LINE)}">{html_text(line)}</tspan>'
            for i, line in enumerate(box.lines)
        )
        out.append(f'<text text-anchor="middle" fill="{colour}"{weight}>{spans}</text>')
        out.append("</a>")
    if diagram.legend:
        for x, y, kind, words in _legend_places(diagram, diagram.legend_top):
            stroke, dash = EDGE_STYLES[kind]
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 28)}" y2="{_n(y)}" stroke="{stroke}" '
                f'stroke-width="1.6"{dashes}/>'
            )
            out.append(
                f'<text x="{_n(x + 34)}" y="{_n(y + diagram.legend_font * 0.375)}" '
                f'font-size="{diagram.legend_font}" fill="#111111">{html_text(words)}</text>'
            )
    out.append("</svg>")
    return "".join(out)
