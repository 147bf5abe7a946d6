"""Printable asset-tag labels: a Code 128 barcode of the asset tag (what the warehouse scanner
reads), a QR code of the same tag, and the tag, model SKU and serial as text.

Pure rendering: no database, no HTTP. Both formats share one layout, computed in printer dots at
300 dpi. The PNG is that grid (with its dpi recorded); the SVG uses it as its viewBox and states
its physical size in mm, so the two print alike. python-barcode does the Code 128 encoding (code
sets, checksum) and the bars are painted here as whole multiples of a 3-dot module (0.254 mm, the
common 10-mil X-dimension): its own ImageWriter converts mm to pixels in floating point, which at
300 dpi leaves bars of one module 2, 3 or 4 px wide. segno draws the QR code in both formats.
"""

import io
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import segno
from barcode import Code128
from barcode.writer import SVGWriter
from PIL import Image, ImageDraw, ImageFont

from app.errors import Unprocessable


class LabelFormat(StrEnum):
    SVG = "svg"
    PNG = "png"


MEDIA_TYPES = {LabelFormat.SVG: "image/svg+xml", LabelFormat.PNG: "image/png"}

DPI = 300
BAR_MODULE = 3  # dots per Code 128 module: 0.254 mm
BAR_QUIET = 10  # modules of white each side of the bars (the Code 128 minimum)
BAR_HEIGHT = 120  # dots: 10.2 mm
QR_MODULE = 6  # dots per QR module: 0.51 mm
QR_BORDER = 4  # modules of white round the QR code (its required quiet zone)
MARGIN = 12  # dots round the whole label
TAG_SIZE = 40  # font size in dots of the asset tag line (3.4 mm)
SMALL_SIZE = 28  # of the SKU and serial lines (2.4 mm)
LINE_GAP = 8  # dots between the bars and the text, and between text lines
SVG_NS = "http://www.w3.org/2000/svg"
# The PNG is drawn with DejaVu Sans Mono (shipped inside python-barcode); the SVG asks for it by
# name and pins each line's width, so a viewer without it still keeps the text in its place.
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"


@dataclass(frozen=True)
class _Line:
    text: str
    size: int
    x: int
    baseline: int
    width: float


@dataclass(frozen=True)
class _Layout:
    width: int
    height: int
    bars: list[tuple[int, int]]  # (x, width) of each bar, in dots
    bar_top: int
    qr: segno.QRCode
    qr_x: int
    qr_y: int
    lines: list[_Line]


def render_label(asset_tag: str, serial: str, sku: str, fmt: LabelFormat | str) -> bytes:
    """The label as SVG or PNG bytes.

    Raises Unprocessable (field asset_tag) when the tag holds a character Code 128 cannot carry
    as a printable symbol (anything outside ASCII 32-126), and ValueError for an unknown format."""
    fmt = LabelFormat(fmt)
    layout = _layout(asset_tag, serial, sku)
    return _svg(layout, asset_tag) if fmt is LabelFormat.SVG else _png(layout)


def _layout(asset_tag: str, serial: str, sku: str) -> _Layout:
    bad = sorted({c for c in asset_tag if not 32 <= ord(c) <= 126})
    if not asset_tag or bad:
        raise Unprocessable(
            f"The asset tag {asset_tag!r} cannot be printed as a Code 128 barcode: only printable "
            f"ASCII is allowed{', not ' + ' '.join(repr(c) for c in bad) if bad else ''}.",
            field="asset_tag",
        )
    modules = Code128(asset_tag).build()[0]
    quiet = BAR_QUIET * BAR_MODULE
    bar_x0 = MARGIN + quiet
    bars = _runs(modules, bar_x0)
    barcode_width = 2 * quiet + len(modules) * BAR_MODULE

    lines: list[_Line] = []
    y = MARGIN + BAR_HEIGHT
    for text, size in ((asset_tag, TAG_SIZE), (f"SKU {_printable(sku)}", SMALL_SIZE),
                       (f"S/N {_printable(serial)}", SMALL_SIZE)):
        font = _font(size)
        ascent, descent = font.getmetrics()
        y += LINE_GAP + ascent
        lines.append(_Line(text, size, bar_x0, y, font.getlength(text)))
        y += descent
    left_width = max(barcode_width, quiet + max(ln.width for ln in lines) + quiet)
    left_height = y - MARGIN

    qr = segno.make_qr(asset_tag, error="m")
    qr_size = qr.symbol_size(scale=QR_MODULE, border=QR_BORDER)[0]
    content_height = max(left_height, qr_size)
    qr_x = MARGIN + int(left_width + 0.5)
    return _Layout(
        width=qr_x + qr_size + MARGIN,
        height=MARGIN + content_height + MARGIN,
        bars=bars,
        bar_top=MARGIN,
        qr=qr,
        qr_x=qr_x,
        qr_y=MARGIN + (content_height - qr_size) // 2,
        lines=lines,
    )


def _runs(modules: str, x0: int) -> list[tuple[int, int]]:
    """'1101100' -> the (x, width) in dots of each run of dark modules."""
    bars, start = [], None
    for i, m in enumerate(modules + "0"):
        if m == "1" and start is None:
            start = i
        elif m != "1" and start is not None:
            bars.append((x0 + start * BAR_MODULE, (i - start) * BAR_MODULE))
            start = None
    return bars


def _printable(text: str) -> str:
    """Control characters (which XML cannot carry) and lone surrogates shown as U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = Path(SVGWriter().font_path)  # python-barcode's bundled DejaVu Sans Mono
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _svg(layout: _Layout, asset_tag: str) -> bytes:
    mm = 25.4 / DPI
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "version": "1.1",
        "width": f"{layout.width * mm:.2f}mm", "height": f"{layout.height * mm:.2f}mm",
        "viewBox": f"0 0 {layout.width} {layout.height}",
    })
    ET.SubElement(root, "title").text = f"Asset tag {asset_tag}"
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": "#fff"})
    bars = ET.SubElement(root, "g", {"id": "code128", "fill": "#000",
                                     "shape-rendering": "crispEdges"})
    for x, width in layout.bars:
        ET.SubElement(bars, "rect", {"x": str(x), "y": str(layout.bar_top), "width": str(width),
                                     "height": str(BAR_HEIGHT)})
    qr = ET.fromstring(layout.qr.svg_inline(scale=QR_MODULE, border=QR_BORDER, svgclass=None,
                                            lineclass=None))
    qr.set("id", "qr")
    qr.set("x", str(layout.qr_x))
    qr.set("y", str(layout.qr_y))
    qr.set("shape-rendering", "crispEdges")
    root.append(qr)
    for line in layout.lines:
        ET.SubElement(root, "text", {
            "x": str(line.x), "y": str(line.baseline), "font-family": FONT_FAMILY,
            "font-size": str(line.size), "fill": "#000",
            "textLength": f"{line.width:.1f}", "lengthAdjust": "spacingAndGlyphs",
        }).text = line.text
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _png(layout: _Layout) -> bytes:
    image = Image.new("L", (layout.width, layout.height), 255)
    draw = ImageDraw.Draw(image)
    for x, width in layout.bars:
        draw.rectangle((x, layout.bar_top, x + width - 1, layout.bar_top + BAR_HEIGHT - 1), fill=0)
    qr_png = io.BytesIO()
    layout.qr.save(qr_png, kind="png", scale=QR_MODULE, border=QR_BORDER)
    qr_png.seek(0)
    with Image.open(qr_png) as qr_image:
        image.paste(qr_image.convert("L"), (layout.qr_x, layout.qr_y))
    for line in layout.lines:
        draw.text((line.x, line.baseline), line.text, font=_font(line.size), fill=0, anchor="ls")
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()
