"""The print form of every component the handbook may use.

The course packs (:mod:`citydiplo.print.coursepack`) print the same pages as the
website, so every directive and role a page uses needs a form on paper:
tabs become consecutive sections, dropdowns are open, cards become boxes.
:data:`DIRECTIVES` and :data:`ROLES` list what has one (the styles are in
``conf/print/coursepack.css``). :func:`scan` finds the directives and roles a
MyST page uses, so that a page with a component without a print form fails
the course-pack build (and the tests) with its ``path:line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: Directive → its print form.
DIRECTIVES: dict[str, str] = {
    # admonitions (docutils)
    "note": "a box with a bar on the left and its title",
    "tip": "a box with a bar on the left and its title",
    "hint": "a box with a bar on the left and its title",
    "important": "a box with a thick bar on the left and its title",
    "warning": "a box with a thick bar on the left and its title",
    "caution": "a box with a thick bar on the left and its title",
    "attention": "a box with a thick bar on the left and its title",
    "danger": "a box with a thick bar on the left and its title",
    "error": "a box with a thick bar on the left and its title",
    "seealso": "a box with a bar on the left and its title",
    "admonition": "a box with a bar on the left and its title",
    # the project's own directives (citydiplo.site.sphinxext)
    "exercise": "a framed box set apart, its title and duration in a band",
    "trainer-note": "a shaded, dashed box, only in the trainer edition",
    "facilitator-note": "a shaded, dashed box with the session's number, only in the trainer edition",
    "query": "a table with a caption",
    "forum-diagram": "the SVG drawing at the text's width, boxes linked to IRIs, and its list of relations",
    # sphinx-design
    "tab-set": "the tabs one after another, each under its label as a heading",
    "tab-item": "one tab: its label as a heading, then its content",
    "dropdown": "open: its title as a heading over its content, in a box",
    "grid": "the items one below the other",
    "grid-item": "a block",
    "grid-item-card": "a framed box with a bold title and a 'see' line with the page number of its link",
    "card": "a framed box with a bold title and a 'see' line with the page number of its link",
    # structure and plain content
    "toctree": "the pack's chapters (the tree itself is not printed)",
    "glossary": "a definition list",
    "table": "a table with a caption",
    "list-table": "a table with a caption",
    "csv-table": "a table with a caption",
    "figure": "the image with its caption, kept on one page",
    "image": "the image, at most the width of the text",
    "code-block": "monospaced text in a light box, wrapped",
    "code": "monospaced text in a light box, wrapped",
    "epigraph": "an indented quotation",
    "rubric": "a small bold heading",
    "only": "its content when the condition holds",
    # answers on paper (citydiplo.site.sphinxext)
    "writing-space": "ruled lines to write on, in the participant edition only (nothing on screen)",
}

#: Role → its print form.
ROLES: dict[str, str] = {
    "entity": "the label, linked to the entity's IRI",
    "project": "the project setting as plain text (e.g. the version)",
    "term": "the text, linked to the glossary appendix",
    "ref": "the text, linked to the target in the pack (or to the website)",
    "doc": "the page title, linked to the chapter in the pack (or to the website)",
    "abbr": "the abbreviation",
    "sub": "subscript",
    "sup": "superscript",
}

FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*)$")
DIRECTIVE_RE = re.compile(r"^\{(?P<name>[A-Za-z][\w:.-]*)\}")
ROLE_RE = re.compile(r"(?<![`\w])\{(?P<name>[A-Za-z][\w:.-]*)\}`")
CODE_SPAN_RE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
#: Directives whose content is literal text, not MyST.
LITERAL = {"code-block", "code", "sourcecode", "literalinclude", "math", "raw", "csv-table"}


@dataclass(frozen=True)
class Use:
    """A directive or role used at ``path:line``."""

    path: str
    line: int
    kind: str  # "directive" or "role"
    name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {{{self.name}}} has no print form in the course packs"


def scan(text: str, path: str = "<string>") -> list[Use]:
    """Every directive and role used in a MyST page, skipping code blocks."""
    uses: list[Use] = []
    stack: list[tuple[str, int, bool]] = []  # open fences: (char, length, literal content)
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE_RE.match(line)
        if stack and stack[-1][2]:  # inside a code block: look for its end only
            char, length, _ = stack[-1]
            if match and match["fence"][0] == char and len(match["fence"]) >= length and not match["info"].strip():
                stack.pop()
            continue
        if match:
            fence, info = match["fence"], match["info"].strip()
            if not info:
                if stack and fence[0] == stack[-1][0] and len(fence) >= stack[-1][1]:
                    stack.pop()
                    continue
                if fence[0] != ":":  # a bare ``` opens a code block
                    stack.append((fence[0], len(fence), True))
                continue
            directive = DIRECTIVE_RE.match(info)
            if directive:
                name = directive["name"]
                uses.append(Use(path, number, "directive", name))
                stack.append((fence[0], len(fence), name in LITERAL))
                continue
            if fence[0] != ":":  # ```lang: a code block
                stack.append((fence[0], len(fence), True))
                continue
        if line.startswith("    ") and not stack:
            continue  # an indented code block (rare in MyST, but literal)
        for role in ROLE_RE.finditer(CODE_SPAN_RE.sub(_keep_roles, line)):
            uses.append(Use(path, number, "role", role["name"]))
    return uses


def _keep_roles(match: re.Match) -> str:
    """Blank out inline code, but keep ``{role}`text``` (a role's body looks like code)."""
    start = match.start()
    text = match.string
    if start > 0 and text[start - 1] == "}":
        return match.group(0)
    return " " * len(match.group(0))


def unsupported(uses: list[Use]) -> list[Use]:
    """The uses of directives and roles without a print form."""
    return [
        use
        for use in uses
        if (use.kind == "directive" and use.name not in DIRECTIVES) or (use.kind == "role" and use.name not in ROLES)
    ]


def scan_files(paths: list[Path], root: Path) -> list[Use]:
    """Scan pages; paths in the uses are relative to ``root``."""
    uses: list[Use] = []
    for path in paths:
        try:
            rel = str(path.relative_to(root))
        except ValueError:
            rel = str(path)
        uses += scan(path.read_text(encoding="utf-8"), rel)
    return uses
