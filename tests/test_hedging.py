"""The hedging benchmark's counting rules (tests/benchmarks/hedging.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("hedging", Path(__file__).parent / "benchmarks" / "hedging.py")
assert _SPEC is not None and _SPEC.loader is not None
hedging = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(hedging)

PAGE = """---
last_reviewed: 2026-12-03
---

# A page

The date is not confirmed. Our sources do not
say who chairs it, and sources differ on the year.

:::{note} Open questions (as of December 2026)
- The venue is not confirmed; check gfmd.org.
:::
"""


def test_counts_hedges_outside_the_open_questions_box_only():
    words, hedges = hedging.measure(PAGE)
    assert hedges["not confirmed"] == 1
    assert hedges["sources do not"] == 1  # across a line break
    assert hedges["sources differ"] == 1
    assert sum(hedges.values()) == 3
    assert words == 29  # the box's items count; the front matter and the box line do not


def test_generated_pages_and_catalogues_are_not_counted():
    assert hedging.included("handbook/how-to/get-into-the-imrf.md")
    for path in (
        "handbook/id/gfmd.md",
        "handbook/def/Forum.md",
        "handbook/reference/generated/meetings.md",
        "handbook/locales/de/LC_MESSAGES/index.md",
    ):
        assert not hedging.included(path)


def test_rate_is_per_ten_thousand_words():
    assert hedging.rate(20_000, 6) == 3.0
    assert hedging.rate(0, 0) == 0.0
