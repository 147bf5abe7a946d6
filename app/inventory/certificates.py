"""The certificate of sanitization for one wipe record, as JSON and as a PDF (fpdf2), with the fields
of NIST SP 800-88 Rev. 1's sample certificate: the media (maker, model, serial, asset tag), the
sanitization (method, technique, tool and version, verification), who did it and when."""

from app.inventory.wipes import certificate_number
from app.models import SpareUnit, WipeRecord

TITLE = "Certificate of Sanitization"
STANDARD = "NIST SP 800-88 Rev. 1, Guidelines for Media Sanitization"


def certificate(record: WipeRecord, unit: SpareUnit) -> dict:
    return {
        "certificate_number": certificate_number(record),
        "standard": STANDARD,
        "media": {"manufacturer": unit.model.maker, "model": unit.model.name, "sku": unit.model.sku,
                  "serial": record.serial, "asset_tag": unit.asset_tag},
        "sanitization": {"method": record.method, "technique": record.technique, "tool": record.tool,
                         "tool_version": record.tool_version, "result": record.result,
                         "verification": record.verification},
        "performed_by": record.technician,
        "verified_by": record.verified_by,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat(),
        "recorded_by": record.recorded_by,
        "recorded_at": record.recorded_at.isoformat(),
        "notes": record.notes,
    }


def certificate_pdf(record: WipeRecord, unit: SpareUnit) -> bytes:
    data = certificate(record, unit)
    # Imported here, not at the top: fpdf2 (and what it imports) costs every process half a second.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLE} {data['certificate_number']}")
    pdf.set_author("Spares & courier-swap service")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, f"{data['certificate_number']} - {STANDARD}", new_x="LMARGIN", new_y="NEXT")
    rows = [
        ("Media", None),
        ("Manufacturer", data["media"]["manufacturer"]), ("Model", f"{data['media']['model']} ({data['media']['sku']})"),
        ("Serial number", data["media"]["serial"]), ("Asset tag", data["media"]["asset_tag"]),
        ("Sanitization", None),
        ("Method", data["sanitization"]["method"].capitalize()), ("Technique", data["sanitization"]["technique"]),
        ("Tool", f"{data['sanitization']['tool']} {data['sanitization']['tool_version']}"),
        ("Result", data["sanitization"]["result"]), ("Verification", data["sanitization"]["verification"]),
        ("People and dates", None),
        ("Performed by", data["performed_by"]), ("Verified by", data["verified_by"] or "-"),
        ("Started", data["started_at"]), ("Ended", data["ended_at"]),
        ("Recorded by", f"{data['recorded_by']} at {data['recorded_at']}"),
    ]
    if data["notes"]:
        rows.append(("Notes", data["notes"]))
    for label, value in rows:
        if value is None:
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 12)
            pdf.cell(0, 8, label, new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(40, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, _latin1(str(value)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The core PDF fonts cover Latin-1; anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")
