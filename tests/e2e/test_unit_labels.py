"""Asset-tag labels through HTTP and the database: the SVG and the PNG carry the tag as text, as
a Code 128 barcode and as a QR code, and both codes are decoded (zxing-cpp) to prove what they
say."""

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from barcode import Code128
from PIL import Image, ImageDraw

from app.inventory import labels
from tests.support import factories as f

pytestmark = pytest.mark.any_database  # rendering barcodes

NS = {"svg": "http://www.w3.org/2000/svg"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TAG, SERIAL, SKU = "AT-LBL-0042", "SN-LBL-0042", "LAT-7440"


@pytest.fixture
def unit(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"], sku=SKU.lower())
    return f.unit(client, keys["warehouse"], model["id"], depot["id"], serial=SERIAL.lower(),
                  asset_tag=TAG.lower())


def _label(client, unit_id: int, headers: dict, fmt: str | None = None):
    params = {} if fmt is None else {"format": fmt}
    return client.get(f"/api/v1/units/{unit_id}/label", params=params, headers=headers)


def _decoded(image: Image.Image) -> dict[str, str]:
    """What zxing-cpp reads in the image, by symbology."""
    names = {zxingcpp.BarcodeFormat.Code128: "Code128", zxingcpp.BarcodeFormat.QRCode: "QRCode"}
    return {names.get(r.format, str(r.format)): r.text for r in zxingcpp.read_barcodes(image)}


def _svg_bars_image(root: ET.Element) -> Image.Image:
    """The SVG's Code 128 bars painted on a canvas the size of its viewBox."""
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    rects = root.findall("svg:g[@id='code128']/svg:rect", NS)
    assert len(rects) > 10
    for rect in rects:
        x, y, w, h = (int(rect.get(a)) for a in ("x", "y", "width", "height"))
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
    return image


def _svg_qr_image(qr: ET.Element) -> Image.Image:
    """segno's SVG QR code (one path of unit-height horizontal strokes, scaled) as pixels."""
    size = int(qr.get("width"))
    path = qr.find("svg:path", NS)
    scale = float(re.fullmatch(r"scale\(([\d.]+)\)", path.get("transform"))[1])
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, args in re.findall(r"([A-Za-z])([^A-Za-z]*)", path.get("d")):
        nums = [float(n) for n in re.findall(r"-?\d*\.?\d+", args)]
        if command == "M":
            x, y = nums
        elif command == "m":
            x, y = x + nums[0], y + nums[1]
        elif command == "h":
            x0, x1 = sorted((x, x + nums[0]))
            box = (x0 * scale, (y - 0.5) * scale, x1 * scale - 1, (y + 0.5) * scale - 1)
            draw.rectangle(box, fill=0)
            x += nums[0]
        else:
            pytest.fail(f"unexpected path command {command!r} in segno's SVG")
    return image


def test_svg_label_is_xml_with_the_text_and_codes_of_the_asset_tag(client, keys, unit):
    r = _label(client, unit["id"], keys["support"], "svg")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["content-disposition"] == f'inline; filename="unit-{unit["id"]}-label.svg"'
    root = ET.fromstring(r.content)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for side in ("width", "height"):  # a physical size, so it prints at the size it was laid out
        assert re.fullmatch(r"\d+(\.\d+)?mm", root.get(side)), root.get(side)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == [TAG, f"SKU {SKU}", f"S/N {SERIAL}"]
    assert _decoded(_svg_bars_image(root)) == {"Code128": TAG}
    assert _decoded(_svg_qr_image(root.find("svg:svg[@id='qr']", NS))) == {"QRCode": TAG}
    # svg is the default format
    default = _label(client, unit["id"], keys["support"])
    assert default.headers["content-type"] == "image/svg+xml" and default.content == r.content


def test_png_label_opens_at_a_printable_size_and_both_codes_read_the_asset_tag(client, keys, unit):
    r = _label(client, unit["id"], keys["warehouse"], "png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(r.content)) as image:
        image.load()
    assert image.format == "PNG"
    width, height = image.size
    assert 400 <= width <= 2000 and 150 <= height <= 600 and width > height, image.size
    assert round(image.info["dpi"][0]) == labels.DPI  # 300 dpi: about 5 x 2.4 cm on paper
    assert _decoded(image) == {"Code128": TAG, "QRCode": TAG}


def test_png_bars_are_python_barcodes_code128_modules_on_a_whole_pixel_grid(client, keys, unit):
    """Every bar and space is a whole number of equal modules: none is rounded thinner or thicker
    than another, and the modules are python-barcode's own encoding of the tag."""
    r = _label(client, unit["id"], keys["support"], "png")
    with Image.open(io.BytesIO(r.content)) as image:
        grey = image.convert("L")
    y = labels.MARGIN + labels.BAR_HEIGHT // 2
    row = [grey.getpixel((x, y)) for x in range(grey.width)]
    dark = "".join("1" if p < 128 else "0" for p in row)
    start, end = dark.index("1"), dark.rindex("1") + 1
    bars = dark[start:end]
    modules = bars[:: labels.BAR_MODULE]
    assert bars == "".join(m * labels.BAR_MODULE for m in modules)
    assert modules == Code128(TAG).build()[0]
    assert "1" not in dark[start - labels.BAR_QUIET * labels.BAR_MODULE : start]  # the quiet zone


@pytest.mark.parametrize("role", ["admin", "support", "warehouse", "integration"])
def test_every_role_may_print_a_label(client, keys, unit, role):
    r = _label(client, unit["id"], keys[role], "png")
    assert r.status_code == 200 and r.content.startswith(PNG_SIGNATURE)


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize("fmt", ["pdf", "SVG ", "", "jpeg"])
def test_an_unknown_format_is_a_422_problem_naming_the_parameter(client, keys, unit, fmt):
    r = _label(client, unit["id"], keys["support"], fmt)
    body = _problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["format"]


def test_an_unknown_unit_is_a_404_problem(client, keys, unit):
    for fmt in ("svg", "png"):
        r = _label(client, 999999, keys["support"], fmt)
        assert "999999" in _problem(r, 404)["detail"]


def test_no_key_or_an_unknown_key_is_401(client, unit):
    for headers in ({}, {"Authorization": "Bearer spk_not-a-real-key"}):
        r = _label(client, unit["id"], headers, "svg")
        _problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"


def test_an_asset_tag_code128_cannot_print_is_a_422_problem(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"])
    odd = f.unit(client, keys["warehouse"], model["id"], depot["id"], asset_tag="tag-é")
    r = _label(client, odd["id"], keys["support"])
    body = _problem(r, 422)
    assert body["field"] == "asset_tag" and "TAG-É" in body["detail"]


def test_awkward_text_is_escaped_and_a_long_tag_still_decodes(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"], sku="SKU<&>\"'")
    tag = "A&B<C>\"D'" + "9" * 40
    odd = f.unit(client, keys["warehouse"], model["id"], depot["id"], asset_tag=tag,
                 serial="SN-\u00fc\u6f22")
    svg = _label(client, odd["id"], keys["support"])
    root = ET.fromstring(svg.content)
    assert [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")] == [
        tag, "SKU SKU<&>\"'", "S/N SN-\u00dc\u6f22"]
    assert _decoded(_svg_bars_image(root)) == {"Code128": tag}
    png = _label(client, odd["id"], keys["support"], "png")
    with Image.open(io.BytesIO(png.content)) as image:
        assert _decoded(image) == {"Code128": tag, "QRCode": tag}


def test_openapi_documents_both_media_types_and_the_errors(app):
    op = app.openapi()["paths"]["/api/v1/units/{unit_id}/label"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"image/svg+xml", "image/png"}
    assert {"401", "403", "404", "422"} <= set(op["responses"])
    (param,) = [p for p in op["parameters"] if p["name"] == "format"]
    schema = param["schema"]
    if "$ref" in schema:
        schema = app.openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert schema["enum"] == ["svg", "png"]
