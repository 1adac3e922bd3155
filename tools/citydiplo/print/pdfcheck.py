"""Look inside a course-pack PDF with pypdf: outline, links, fonts, text.

Used by the tests (``tests/test_coursepack.py``) and the benchmark; pypdf is
a test dependency, so it is imported only here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PdfFacts:
    pages: int
    page_size_mm: tuple[float, float]
    outline: list[tuple[int, str, int]]  # (level, title, page index)
    named_destinations: set[str]
    internal_links: list[tuple[int, str]]  # (page index, destination name)
    external_links: list[tuple[int, str]]  # (page index, URI)
    fonts: dict[str, bool]  # base font → embedded
    text: list[str] = field(default_factory=list)  # per page
    metadata: dict[str, str] = field(default_factory=dict)
    page_sizes_mm: list[tuple[float, float]] = field(default_factory=list)  # (width, height) per page
    tagged: bool = False  # a structure tree, marked content (for screen readers)
    language: str = ""  # the document's /Lang

    @property
    def broken_links(self) -> list[tuple[int, str]]:
        return [(page, dest) for page, dest in self.internal_links if dest not in self.named_destinations]

    @property
    def unembedded_fonts(self) -> list[str]:
        return sorted(name for name, embedded in self.fonts.items() if not embedded)

    def full_text(self) -> str:
        return "\n".join(self.text)


def _outline(reader, items, level=1, out=None):
    out = [] if out is None else out
    for item in items:
        if isinstance(item, list):
            _outline(reader, item, level + 1, out)
        else:
            out.append((level, str(item.title), reader.get_destination_page_number(item)))
    return out


def _font_embedded(font) -> bool:
    font = font.get_object()
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True  # glyphs are drawn in the PDF itself
    if subtype == "/Type0":
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant.get("/FontDescriptor")
    else:
        descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _size_mm(page) -> tuple[float, float]:
    box = page.mediabox
    return (round(float(box.width) * 25.4 / 72, 1), round(float(box.height) * 25.4 / 72, 1))


def inspect_pdf(path: Path, with_text: bool = True) -> PdfFacts:
    """Read the facts the tests check from a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    first = reader.pages[0]
    width = float(first.mediabox.width) * 25.4 / 72
    height = float(first.mediabox.height) * 25.4 / 72
    internal, external = [], []
    fonts: dict[str, bool] = {}
    texts = []
    sizes = []
    for index, page in enumerate(reader.pages):
        sizes.append(_size_mm(page))
        for annot in page.get("/Annots", []) or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            if "/Dest" in annot:
                internal.append((index, str(annot["/Dest"])))
                continue
            action = annot.get("/A")
            if action is None:
                continue
            action = action.get_object()
            if action.get("/S") == "/GoTo":
                internal.append((index, str(action.get("/D"))))
            elif action.get("/S") == "/URI":
                external.append((index, str(action.get("/URI"))))
        resources = page.get("/Resources")
        if resources is not None:
            for font in (resources.get_object().get("/Font") or {}).values():
                obj = font.get_object()
                fonts[str(obj.get("/BaseFont"))] = _font_embedded(obj)
        if with_text:
            texts.append(page.extract_text() or "")
    metadata = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    root = reader.trailer["/Root"].get_object()
    mark_info = root.get("/MarkInfo")
    marked = bool(mark_info is not None and mark_info.get_object().get("/Marked"))
    return PdfFacts(
        pages=len(reader.pages),
        page_size_mm=(round(width, 1), round(height, 1)),
        outline=_outline(reader, reader.outline),
        named_destinations=set(reader.named_destinations),
        internal_links=internal,
        external_links=external,
        fonts=fonts,
        text=texts,
        metadata=metadata,
        page_sizes_mm=sizes,
        tagged=marked and "/StructTreeRoot" in root,
        language=str(root.get("/Lang", "")),
    )


def _times(a, b) -> list[float]:
    """The product of two PDF matrices [a b c d e f]."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def text_sizes(path: Path) -> list[list[float]]:
    """Per page, the size in points of every run of text as printed: the font
    size times the vertical scale of the text matrix and of every drawing
    transformation around it, form XObjects included (WeasyPrint draws an
    SVG's text in them), so a drawing shrunk to fit shows its text's real size."""
    import math

    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    reader = PdfReader(str(path))
    identity = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]

    def walk(stream, resources, ctm: list[float], runs: list[float], depth: int = 0) -> None:
        saved: list[list[float]] = []
        size, tm = 0.0, identity
        for operands, operator in ContentStream(stream, reader).operations:
            if operator == b"q":
                saved.append(ctm)
            elif operator == b"Q" and saved:
                ctm = saved.pop()
            elif operator == b"cm":
                ctm = _times(operands, ctm)
            elif operator == b"BT":
                tm = identity
            elif operator == b"Tf":
                size = float(operands[1])
            elif operator == b"Tm":
                tm = [float(v) for v in operands]
            elif operator in (b"Tj", b"TJ", b"'", b'"'):
                m = _times(tm, ctm)
                runs.append(round(size * math.hypot(m[2], m[3]), 2))
            elif operator == b"Do" and depth < 8:
                xobject = (resources.get("/XObject") or {}).get(operands[0])
                xobject = xobject.get_object() if xobject is not None else None
                if xobject is not None and xobject.get("/Subtype") == "/Form":
                    inner = xobject.get("/Resources")
                    matrix = xobject.get("/Matrix", identity)
                    walk(xobject, inner.get_object() if inner else resources, _times(matrix, ctm), runs, depth + 1)

    pages = []
    for page in reader.pages:
        runs: list[float] = []
        walk(page.get_contents(), page.get("/Resources").get_object(), identity, runs)
        pages.append(runs)
    return pages


@dataclass(frozen=True)
class StructElement:
    tag: str  # the structure type without "/", e.g. "H1", "P", "Div"
    language: str  # its language: its own /Lang or the nearest ancestor's, else the document's
    own_language: str  # its own /Lang, "" when it inherits
    page: int | None  # page index (/Pg), when it has one


def structure_languages(path: Path) -> list[StructElement]:
    """Every element of a tagged PDF's structure tree, depth-first, with the
    language a screen reader uses for it (PDF 1.7, 14.9.2: /Lang on the
    element, else inherited from its parents, else the catalogue's)."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    reader = PdfReader(str(path))
    pages = {page.indirect_reference.idnum: index for index, page in enumerate(reader.pages)}
    root = reader.trailer["/Root"].get_object()
    found: list[StructElement] = []

    def kids(node) -> list:
        k = node.get("/K")
        if k is None:
            return []
        k = k.get_object()
        return list(k) if isinstance(k, ArrayObject) else [k]

    def walk(node, inherited: str) -> None:
        for kid in kids(node):
            obj = kid.get_object()
            if not isinstance(obj, DictionaryObject) or obj.get("/Type") not in (None, "/StructElem"):
                continue  # marked-content ids and object references
            if "/S" not in obj:
                continue
            own = str(obj.get("/Lang", ""))
            language = own or inherited
            page = obj.get("/Pg")
            found.append(
                StructElement(
                    tag=str(obj["/S"]).lstrip("/"),
                    language=language,
                    own_language=own,
                    page=pages.get(page.idnum) if page is not None else None,
                )
            )
            walk(obj, language)

    tree = root.get("/StructTreeRoot")
    if tree is not None:
        walk(tree.get_object(), str(root.get("/Lang", "")))
    return found
