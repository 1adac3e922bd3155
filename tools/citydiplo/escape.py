"""The escaping boundary: one function per output language.

Every value that comes from ``vocab/`` (labels, definitions, notes, dates,
IRIs, query titles) passes one of these functions before it is written into
a generated page. Nothing from the data may reach an evaluator: MyST
substitutions are switched off (``conf/conf.py``), and the text written here
cannot open a role, a directive, raw HTML or a code fence.

* :func:`myst_inline` — running text in MyST (paragraphs, headings, table
  cells, definition lists, glossary terms);
* :func:`myst_code` — an inline code span;
* :func:`myst_fence` — a fenced code block (for examples and query texts);
* :func:`myst_url` — the destination of a Markdown link;
* :func:`myst_ident` — a name used in a label, a target or a path (checked,
  never escaped: a name that does not match is an error);
* :func:`html_attr` / :func:`html_text` — raw HTML attribute values and text;
* :func:`print_text` — a value for the course packs' HTML template (which
  autoescapes): escaped here and marked as HTML, so it is escaped once;
* :func:`script_json` — JSON inside a ``<script>`` element (JSON-LD, page data);
* :func:`csv_cell` — a spreadsheet cell (no formula injection).

Text that is already safe MyST is marked by the type :class:`MyST`; the Jinja
environment of the page compiler escapes every other value it prints
(:func:`finalize`), so a value that was forgotten is escaped, not trusted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from .paths import SLUG_RE, TERM_RE


class EscapeError(ValueError):
    """A value cannot be written safely (e.g. a malformed identifier)."""


class MyST(str):
    """Text that is already MyST markup, made by a function of this module."""

    __slots__ = ()


#: CommonMark lets any ASCII punctuation be escaped with a backslash; we
#: escape all of it, so no character of a value can start markup.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
#: Line breaks and other control characters become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")

#: Slugs of things (``id/<slug>``) and names of ontology terms (``def/<name>``):
#: the rules of :mod:`citydiplo.paths`, the one place that defines them.
SLUG = SLUG_RE
TERM_NAME = TERM_RE
_IDENT = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")


def plain(text) -> str:
    """Text with line breaks and control characters made spaces, trimmed."""
    return _CONTROL.sub(" ", str(text)).strip()


def myst_inline(text) -> MyST:
    """Escape text for inline MyST: every punctuation character is escaped."""
    if isinstance(text, MyST):
        return text
    return MyST(_PUNCTUATION.sub(r"\\\1", plain(text)))


def myst_join(items: Iterable, sep: str = ", ") -> MyST:
    """Join values; each one that is not already MyST is escaped."""
    separator = _PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", sep))
    return MyST(separator.join(myst_inline(item) for item in items))


def safe(text: str) -> MyST:
    """Mark text written by the project's own code (templates, UI strings) as MyST."""
    return MyST(text)


def myst_code(text) -> MyST:
    """An inline code span that shows ``text`` literally."""
    value = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return MyST(f"{ticks}{pad}{value}{pad}{ticks}")


def fence_ticks(text: str) -> str:
    """A backtick run longer than any in ``text`` (at least three)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, longest + 1)


def colon_fence(text: str) -> str:
    """A colon run longer than any that starts a line of ``text`` (at least three)."""
    longest = max((len(m) for m in re.findall(r"^[ \t]*(:{3,})", text, flags=re.M)), default=0)
    return ":" * max(3, longest + 1)


_FENCE_LANGS = {"", "turtle", "sparql", "json", "text"}


def myst_fence(text, lang: str = "") -> MyST:
    """A fenced code block showing ``text`` literally (lines kept)."""
    if lang not in _FENCE_LANGS:
        raise EscapeError(f"unknown code block language {lang!r}")
    body = str(text).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    body = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", body)
    ticks = fence_ticks(body)
    return MyST(f"{ticks}{lang}\n{body}\n{ticks}")


_URL_SAFE = "-._~:/?#@!$&*+,;=%"


def myst_url(url) -> str:
    """A link destination for an external ``http(s)`` URL, or raise :class:`EscapeError`.

    The URL is percent-encoded except for characters that cannot end or break
    the destination, and written in angle brackets.
    """
    text = plain(url)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EscapeError(f"not an http(s) URL: {text!r}")
    return "<" + quote(text, safe=_URL_SAFE + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") + ">"


def myst_ident(name, pattern: re.Pattern = _IDENT) -> MyST:
    """A checked identifier (slug, term or query name) for labels, targets and paths."""
    text = str(name)
    if not pattern.match(text):
        raise EscapeError(f"not a valid name: {text!r}")
    return MyST(text)


def html_text(text) -> str:
    return html.escape(str(text), quote=False)


def html_attr(text) -> str:
    return html.escape(str(text), quote=True)


def print_text(text):
    """A value from outside the project (the command line, a file of names)
    for the course packs' Jinja template: control characters made spaces,
    escaped for HTML text and attributes, and marked as markup
    (:class:`markupsafe.Markup`), so the template's autoescaping leaves it
    as it is. Nothing in it can open an element, an entity or a template
    expression (the template prints values; it never parses them)."""
    from markupsafe import Markup

    return Markup(html_attr(plain(text)))


def script_json(data, **dumps) -> str:
    """JSON safe to place inside a ``<script>`` element: ``<``, ``>`` and ``&``
    (and the JavaScript line separators) are written as JSON escapes, so no
    value can end the element. ``dumps`` go to :func:`json.dumps`."""
    import json

    text = json.dumps(data, ensure_ascii=False, **dumps)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def html_json_script(data, element_id: str, css_class: str, **attrs: str) -> MyST:
    """A ``<script type="application/json">`` block carrying ``data`` for the
    page's own JavaScript (a raw HTML block in MyST), through :func:`script_json`;
    the attributes are escaped; the id and class are checked."""
    text = script_json(data, separators=(",", ":"), sort_keys=True)
    extra = "".join(f' data-{myst_ident(k.replace("_", "-"))}="{html_attr(v)}"' for k, v in sorted(attrs.items()))
    return MyST(
        f'<script type="application/json" id="{myst_ident(element_id)}" class="{myst_ident(css_class)}"{extra}>'
        f"{text}</script>"
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(text) -> str:
    """A CSV cell that a spreadsheet will not read as a formula (OWASP advice)."""
    value = str(text)
    if value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    return re.fullmatch(r"[+-]?\d+(\.\d+)?", value) is not None


def finalize(value) -> str:
    """Jinja ``finalize``: escape every printed value that is not already MyST."""
    if value is None:
        return ""
    if isinstance(value, MyST):
        return value
    if isinstance(value, bool):
        raise EscapeError("a template printed a boolean")
    if isinstance(value, int):
        return str(value)
    return myst_inline(value)


# ------------------------------------------------------------------ HTML
class Html(str):
    """Text that is already HTML, made by a function of this module."""

    __slots__ = ()


def html_inline(text) -> Html:
    """A value as HTML text: :class:`Html` as it is, :class:`MyST` converted
    (:func:`myst_to_html`), anything else escaped (control characters made spaces)."""
    if isinstance(text, Html):
        return text
    if isinstance(text, MyST):
        return myst_to_html(text)
    return Html(html_text(plain(text)))


def html_join(items: Iterable, sep: str = ", ") -> Html:
    """Join values as HTML; each one that is not already HTML goes through :func:`html_inline`."""
    return Html(html_text(_CONTROL.sub(" ", sep)).join(html_inline(item) for item in items))


def html_code(text) -> Html:
    """An inline code element that shows ``text`` literally."""
    return Html(f'<code class="docutils literal notranslate"><span class="pre">{html_text(plain(text))}</span></code>')


_ESCAPED = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
#: The inline MyST this project writes (:func:`myst_inline`, :func:`myst_code`,
#: links made of them): a backslash escape, a link's start, a code span, or text.
_MYST_TOKEN = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])|(\[)|(`+)|([^\\\[`]+|\\)")


def _link_end(text: str, start: int) -> int:
    """Index of the unescaped ``](`` that closes the link text starting at ``start``."""
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "`":
            run = re.match(r"`+", text[i:]).group()
            close = re.compile(r"(?<!`)" + run + r"(?!`)").search(text, i + len(run))
            if close is None:
                raise EscapeError(f"unclosed code span in {text!r}")
            i = close.end()
        elif c == "[":
            raise EscapeError(f"a link inside a link in {text!r}")
        elif c == "]":
            if text.startswith("](", i):
                return i
            raise EscapeError(f"a bracket that closes no link in {text!r}")
        else:
            i += 1
    raise EscapeError(f"unclosed link in {text!r}")


def myst_to_html(text: MyST) -> Html:
    """The HTML for inline MyST made by this module: escaped text, code spans,
    and links ``[text](<https://…>)`` or ``[text](../id/slug.md)`` (a page of
    the site: ``.md`` becomes ``.html``). Every piece of text and every address
    goes through :func:`html_text` or :func:`html_attr`; anything else (raw
    HTML, a role) is shown as text, never passed on."""
    out: list[str] = []
    i = 0
    while i < len(text):
        match = _MYST_TOKEN.match(text, i)
        escaped, _link, ticks, chunk = match.groups()
        if escaped is not None:
            out.append(html_text(escaped))
            i = match.end()
        elif chunk is not None:
            out.append(html_text(chunk))
            i = match.end()
        elif ticks is not None:
            close = re.compile(r"(?<!`)" + ticks + r"(?!`)").search(text, match.end())
            if close is None:
                raise EscapeError(f"unclosed code span in {text!r}")
            value = text[match.end() : close.start()]
            if len(value) > 2 and value.startswith(" ") and value.endswith(" ") and value.strip():
                value = value[1:-1]
            out.append(html_code(value))
            i = close.end()
        else:
            end = _link_end(text, match.end())
            label = myst_to_html(MyST(text[match.end() : end]))
            close = text.find(">)", end + 2) + 1 if text.startswith("](<", end) else text.find(")", end + 2)
            if close <= 0:
                raise EscapeError(f"unclosed link address in {text!r}")
            target = text[end + 2 : close]
            if target.startswith("<"):
                url = target[1:-1]
                if urlsplit(url).scheme not in ("http", "https"):
                    raise EscapeError(f"not an http(s) URL: {url!r}")
                out.append(f'<a class="reference external" href="{html_attr(url)}">{label}</a>')
            else:
                if urlsplit(target).scheme or not re.fullmatch(r"(\.\./)*[A-Za-z0-9_/-]+\.md", target):
                    raise EscapeError(f"not a link to a page of the site: {target!r}")
                href = target[: -len(".md")] + ".html"
                out.append(
                    f'<a class="reference internal" href="{html_attr(href)}">'
                    f'<span class="std std-doc">{label}</span></a>'
                )
            i = close + 1
    return Html("".join(out))


def html_finalize(value) -> str:
    """Jinja ``finalize`` for the HTML page templates: every printed value that is
    not already :class:`Html` goes through :func:`html_inline`."""
    if value is None:
        return ""
    if isinstance(value, Html):
        return value
    if isinstance(value, bool):
        raise EscapeError("a template printed a boolean")
    if isinstance(value, int):
        return str(value)
    return html_inline(value)
