"""Page problems that Sphinx and MyST pass over or crash on, as located warnings.

- An unclosed code fence (```` ``` ````, ``~~~``) or colon fence (``:::``)
  swallows the rest of the page without a word; it is reported at the line
  that opens it.
- A toctree that includes one of its own ancestors makes Sphinx recurse until
  it crashes; the entry that closes the loop is reported at its line and left
  out, so the build ends with that warning instead of a traceback.
"""

from __future__ import annotations

import re

from sphinx.util import logging

logger = logging.getLogger(__name__)

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,}|:{3,})(.*)$")


def unclosed_fence(text: str) -> tuple[int, str] | None:
    """The line number (1-based) and marker of the first fence that is never
    closed, or None. Code fences hide everything up to their closer; colon
    fences (directives) nest."""
    stack: list[tuple[str, int, int]] = []  # (character, length, line)
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE_RE.match(line)
        if not match:
            continue
        marker, rest = match.group(1), match.group(2).strip()
        char, length = marker[0], len(marker)
        if char == "`" and "`" in rest:
            continue  # an inline code span, not a fence
        top = stack[-1] if stack else None
        closes = top is not None and top[0] == char and length >= top[1] and not rest
        if closes:
            stack.pop()
            continue
        if top is not None and top[0] in "`~":
            continue  # inside a code block, nothing opens
        if char == ":" and not rest:
            continue  # a stray closer
        stack.append((char, length, number))
    if stack:
        char, length, number = stack[0]
        return number, char * length
    return None


def on_source_read(app, docname: str, source: list[str]) -> None:
    found = unclosed_fence(source[0])
    if found:
        number, marker = found
        logger.warning(
            f"the fence {marker} opened here is never closed, so it takes in the rest of the page; "
            f"close it with a line {marker}",
            type="citydiplo",
            subtype="content",
            location=(docname, number),
        )


def _entry_line(env, docname: str, child: str) -> int | None:
    """The line of the toctree entry naming ``child`` in ``docname``'s source."""
    try:
        lines = env.doc2path(docname).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    base = docname.rsplit("/", 1)[0] + "/" if "/" in docname else ""
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        target = re.search(r"<([^<>]+)>$", entry)
        entry = target.group(1) if target else entry
        if entry.removesuffix(".md") in (child, "/" + child) or base + entry.removesuffix(".md") == child:
            return number
    return None


def on_check_consistency(app, env) -> None:
    """Report and cut every toctree entry that closes a loop."""
    includes = env.toctree_includes
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(doc: str, path: list[str]) -> None:
        state[doc] = 1
        for child in list(includes.get(doc, [])):
            if state.get(child) == 1:
                loop = " → ".join([*path[path.index(child) :], doc, child]) if child in path else f"{doc} → {child}"
                logger.warning(
                    f"toctree entry {child!r} makes a loop ({loop}); a page belongs to one place in the tree",
                    type="citydiplo",
                    subtype="toctree",
                    location=(doc, _entry_line(env, doc, child)),
                )
                includes[doc] = [c for c in includes[doc] if c != child]
            elif child not in state:
                visit(child, [*path, doc])
        state[doc] = 2

    for doc in [app.config.root_doc, *sorted(includes)]:
        if doc not in state:
            visit(doc, [])


def setup_checks(app) -> None:
    app.connect("source-read", on_source_read)
    app.connect("env-check-consistency", on_check_consistency)
