"""A small world map of the cities, drawn at build time as inline SVG.

No tile server, no JavaScript, no network: the land outline is vendored
(``worldmap/ne_110m_land.json``, Natural Earth 1:110m land, public domain,
simplified; see ``worldmap/README.md``), projected with the Equal Earth
projection, and each city with coordinates (``geo:lat``/``geo:long``) is a
dot that links to its entity page.

The map is a figure: the SVG has a title and a description, every dot is a
link with a name, and the caption says that the directory table below it is
the text alternative (it lists every city, with or without coordinates).
Every value from the graph reaches the SVG through
:func:`~citydiplo.escape.html_text` or :func:`~citydiplo.escape.html_attr`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

from rdflib import Literal, URIRef

from ..escape import html_attr, html_text
from ..graph.views import GraphView

GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"

#: Width of the drawing (user units); the height follows from the projection.
WIDTH = 1000.0
MARGIN = 8.0
DOT_RADIUS = 4.0

# Equal Earth (Šavrič, Patterson, Jenny 2018)
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2
#: the projection's extent for longitude ±180° and latitude ±90° (unit sphere)
_X_MAX = 2.7066297319
_Y_MAX = 1.3173627591


def equal_earth(lon: float, lat: float) -> tuple[float, float]:
    """Longitude and latitude in degrees → (x, y) on the unit sphere, y up."""
    lam, phi = math.radians(lon), math.radians(lat)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = 2 * math.sqrt(3) * lam * math.cos(theta) / (3 * (9 * _A4 * t6 * t2 + 7 * _A3 * t6 + 3 * _A2 * t2 + _A1))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return x, y


SCALE = (WIDTH - 2 * MARGIN) / (2 * _X_MAX)
HEIGHT = round(2 * _Y_MAX * SCALE + 2 * MARGIN, 1)


def to_svg(lon: float, lat: float) -> tuple[float, float]:
    """Degrees → SVG user units (origin top left, y down), rounded to 0.1."""
    x, y = equal_earth(lon, lat)
    return round(WIDTH / 2 + x * SCALE, 1), round(HEIGHT / 2 - y * SCALE, 1)


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


@cache
def land_path() -> str:
    """The land outline as one SVG path (``d``), projected once per process."""
    text = resources.files("citydiplo.site").joinpath("worldmap/ne_110m_land.json").read_text(encoding="utf-8")
    parts = []
    for polygon in json.loads(text):
        for ring in polygon:
            points = [to_svg(lon, lat) for lon, lat in ring]
            moves = [f"M{_num(points[0][0])} {_num(points[0][1])}"]
            moves += [f"L{_num(x)} {_num(y)}" for x, y in points[1:]]
            parts.append("".join(moves) + "Z")
    return "".join(parts)


@dataclass(frozen=True)
class Dot:
    slug: str
    label: str
    lon: float
    lat: float


def _degrees(value, limit: float) -> float | None:
    if not isinstance(value, Literal):
        return None
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def city_dots(view: GraphView) -> tuple[list[Dot], int]:
    """The cities with usable WGS 84 coordinates, by label; and the number of cities."""
    cities = view.entities_by_kind.get("cities", [])
    dots = []
    for node in cities:
        lat = _degrees(view.graph.value(node, URIRef(GEO + "lat")), 90)
        lon = _degrees(view.graph.value(node, URIRef(GEO + "long")), 180)
        if lat is not None and lon is not None:
            dots.append(Dot(view.slug(node), view.label(node), lon, lat))
    dots.sort(key=lambda d: (d.label.casefold(), d.slug))
    return dots, len(cities)


def city_map_svg(dots: list[Dot], href: Callable[[str], str], title: str, desc: str, id_prefix: str) -> str:
    """The map as inline SVG. ``href(slug)`` gives each dot's link; ``title``
    and ``desc`` name and describe the drawing; ``id_prefix`` keeps its ids
    unique on the page."""
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="citydiplo-map-svg" viewBox="0 0 {_num(WIDTH)} {_num(HEIGHT)}"'
        f' role="group" aria-labelledby="{html_attr(title_id)}" aria-describedby="{html_attr(desc_id)}">',
        f'<title id="{html_attr(title_id)}">{html_text(title)}</title>',
        f'<desc id="{html_attr(desc_id)}">{html_text(desc)}</desc>',
        f'<path class="citydiplo-map-land" fill-rule="evenodd" d="{land_path()}"/>',
        '<g class="citydiplo-map-dots">',
    ]
    for dot in dots:
        x, y = to_svg(dot.lon, dot.lat)
        out.append(
            f'<a href="{html_attr(href(dot.slug))}" aria-label="{html_attr(dot.label)}">'
            f"<title>{html_text(dot.label)}</title>"
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(DOT_RADIUS)}"/></a>'
        )
    out.append("</g></svg>")
    # one element a line: Sphinx's own search index reads raw HTML with its
    # tags stripped, and the names would otherwise run into one word
    return "\n".join(out)


def city_map_figure(view: GraphView, href: Callable[[str], str]) -> str:
    """The whole figure (SVG and caption) in the view's language, or "" when
    no city has coordinates."""
    dots, total = city_dots(view)
    if not dots:
        return ""
    counts = {"shown": len(dots), "total": total}
    svg = city_map_svg(
        dots,
        href,
        title=view.ui("map_title"),
        desc=view.ui("map_desc").format(**counts),
        id_prefix="citydiplo-city-map",
    )
    caption = html_text(view.ui("map_caption").format(**counts))
    return f'<figure class="citydiplo-map">{svg}<figcaption>{caption}</figcaption></figure>'
