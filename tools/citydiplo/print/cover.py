"""The EPUB's cover: a PNG drawn at build time from the book's own words (its
title, edition and language), no outside image.

Drawn with Pillow (which WeasyPrint, the packs' PDF engine, already needs) in
the fonts the packs use (Open Sans, else DejaVu Sans, found where fontconfig
or Debian put them). The same words give the same bytes. The EPUB builder
(:class:`citydiplo.print.builder.EpubBuilder`) writes it where ``epub_cover``
in ``conf/conf.py`` names it and marks it as the book's cover image.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

#: The file name the builder draws; ``epub_cover`` naming another image leaves that image alone
COVER_NAME = "citydiplo-cover.png"
#: 2:3, the shape e-book shops and readers expect, large enough for a sharp thumbnail
SIZE = (1600, 2400)
MARGIN = 130
NAVY = (22, 50, 92)  # #16325c, the packs' and slides' heading colour
AMBER = (242, 184, 75)
INK = (17, 17, 17)
GREY = (51, 51, 51)
WHITE = (255, 255, 255)
FONT_FILES = {
    "bold": ("OpenSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    "regular": ("OpenSans-Regular.ttf", "DejaVuSans.ttf"),
}
FONT_NAMES = {"bold": ("Open Sans:bold", "DejaVu Sans:bold"), "regular": ("Open Sans", "DejaVu Sans")}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


@cache
def font_file(weight: str) -> str | None:
    """The path of the packs' font in this weight, or None when neither is installed."""
    for folder in FONT_DIRS:
        for name in FONT_FILES[weight]:
            found = sorted(folder.rglob(name)) if folder.is_dir() else []
            if found:
                return str(found[0])
    fc_match = shutil.which("fc-match")
    for pattern in FONT_NAMES[weight] if fc_match else ():
        result = subprocess.run(
            [fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10, check=False
        )
        if Path(result.stdout).name in FONT_FILES[weight]:
            return result.stdout
    return None


def _font(weight: str, size: int):
    from PIL import ImageFont

    path = font_file(weight)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def _lines(draw, text: str, font, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels (a word too long for a line stands alone)."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def _fitted(draw, text: str, weight: str, sizes: tuple[int, ...], width: float, most_lines: int):
    """The largest of ``sizes`` at which ``text`` fits ``width`` in at most ``most_lines`` lines."""
    for size in sizes:
        font = _font(weight, size)
        lines = _lines(draw, text, font, width)
        if len(lines) <= most_lines and all(draw.textlength(line, font=font) <= width for line in lines):
            return font, size, lines
    font = _font(weight, sizes[-1])
    return font, sizes[-1], _lines(draw, text, font, width)


def draw_cover(out: Path, title: str, edition: str, language: str, publisher: str, subtitle: str = "") -> Path:
    """Draw the cover into ``out`` (PNG): the title large on navy, the
    subtitle under it, then the edition and the language, the publisher at
    the foot. Every text is given by the caller (already in the book's
    language); nothing is read from elsewhere."""
    from PIL import Image, ImageDraw

    width, height = SIZE
    image = Image.new("RGB", SIZE, WHITE)
    draw = ImageDraw.Draw(image)
    band = int(height * 0.62)
    draw.rectangle((0, 0, width, band), fill=NAVY)
    # a quiet sign of what the book is about: three forums, the channels into them
    y = MARGIN + 10
    for index in range(3):
        x = MARGIN + index * 150
        draw.rounded_rectangle((x, y, x + 110, y + 56), radius=12, outline=AMBER, width=6)
    draw.line((MARGIN + 55, y + 56, MARGIN + 205, y + 130, MARGIN + 355, y + 56), fill=AMBER, width=6)
    draw.line((MARGIN + 205, y + 56, MARGIN + 205, y + 130), fill=AMBER, width=6)
    draw.ellipse((MARGIN + 187, y + 112, MARGIN + 223, y + 148), fill=AMBER)

    room = width - 2 * MARGIN
    font, size, lines = _fitted(draw, title, "bold", (150, 136, 124, 112, 100, 88, 76), room, 5)
    step = int(size * 1.18)
    y = band - MARGIN - step * len(lines)
    if subtitle:
        small, small_size, sub_lines = _fitted(draw, subtitle, "regular", (64, 58, 52, 46), room, 3)
        y -= int(small_size * 1.3) * len(sub_lines) + 40
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=WHITE)
        y += step
    if subtitle:
        y += 40
        for line in sub_lines:
            draw.text((MARGIN, y), line, font=small, fill=(226, 232, 240))
            y += int(small_size * 1.3)
    draw.rectangle((MARGIN, band + 110, MARGIN + 220, band + 126), fill=AMBER)
    y = band + 180
    for text, weight, sizes, colour in (
        (edition, "bold", (76, 68, 60, 52), INK),
        (language, "regular", (64, 58, 52), GREY),
    ):
        font, size, lines = _fitted(draw, text, weight, sizes, room, 2)
        for line in lines:
            draw.text((MARGIN, y), line, font=font, fill=colour)
            y += int(size * 1.3)
        y += 30
    font, size, lines = _fitted(draw, publisher, "regular", (52, 46, 40), room, 2)
    y = height - MARGIN - int(size * 1.3) * len(lines)
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=GREY)
        y += int(size * 1.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG", optimize=True)
    return out
