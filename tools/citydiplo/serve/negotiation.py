"""Content negotiation by ``Accept`` (RFC 9110, section 12.5.1), the one rule
that ``citydiplo serve`` and the production nginx setup both follow.

``conf/nginx/citydiplo.js`` is a line-by-line port of this module for
nginx's JavaScript module (njs); ``tests/data/negotiation.csv`` is the table
of Accept headers that both must answer alike (``tests/test_serve.py``,
``tests/test_nginx.py``).

The rule:

- the header is split at commas into media ranges; parameters other than
  ``q`` are ignored; a ``q`` that is not a plain decimal number counts as
  1, and a q over 1 as 1;
- each offer takes the q of the most specific range that matches it (the
  exact type, then ``type/*``, then ``*/*``); ``application/xhtml+xml``
  counts as ``text/html`` and ``application/json`` as
  ``application/ld+json``;
- the offer with the highest q wins, ties going to the server's order
  (the page first); an offer with q = 0 is never chosen;
- no header (or an empty one) gets the first offer; a header that accepts
  none of the offers gets ``None`` (answered with 406 and the list of what
  is available).
"""

from __future__ import annotations

import re

#: What an IRI can be answered with, in the server's order of preference: suffix, media type.
OFFERS = (
    ("html", "text/html"),
    ("ttl", "text/turtle"),
    ("jsonld", "application/ld+json"),
    ("nt", "application/n-triples"),
    ("rdf", "application/rdf+xml"),
)
NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
ALIASES = {"application/xhtml+xml": "text/html", "application/json": "application/ld+json"}


def parse_accept(header: str | None, aliases: dict[str, str] = ALIASES) -> list[tuple[str, float]]:
    """``Accept`` as (media range, q) pairs, in the order given, aliases replaced."""
    ranges = []
    for part in (header or "").split(","):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        if not media:
            continue
        q = 1.0
        for param in bits[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = min(1.0, float(value)) if NUMBER.fullmatch(value) else 1.0
        ranges.append((aliases.get(media, media), q))
    return ranges


def quality(ranges: list[tuple[str, float]], media: str) -> float:
    """The q of ``media`` under the most specific matching range (0 if none).

    Among ranges of the same specificity, the first one listed counts."""
    kind = media.split("/")[0] + "/*"
    best, best_rank = 0.0, -1
    for candidate, q in ranges:
        rank = 2 if candidate == media else 1 if candidate == kind else 0 if candidate == "*/*" else -1
        if rank > best_rank:
            best, best_rank = q, rank
    return best if best_rank >= 0 else 0.0


def negotiate(header: str | None, offers: list[str], aliases: dict[str, str] = ALIASES) -> str | None:
    """The offer the client prefers; the first offer if there is no header,
    ``None`` if the client accepts none of them. An alias that is itself
    offered (``application/json`` for SPARQL results) is not replaced."""
    if not offers:
        return None
    ranges = parse_accept(header, {k: v for k, v in aliases.items() if k not in offers})
    if not ranges:
        return offers[0]
    best, best_q = None, 0.0
    for media in offers:
        q = quality(ranges, media)
        if q > best_q:
            best, best_q = media, q
    return best
