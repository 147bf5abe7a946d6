"""CSV import and export of units — the spreadsheet every IT team already has.

An import is all or nothing: every row is checked first, errors are reported by line number, and
nothing is written unless every row is good."""

import csv
import io
from collections.abc import Iterable, Iterator

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Unprocessable
from app.inventory import repository, units
from app.inventory.schemas import UnitCreate
from app.inventory.states import INITIAL_STATES
from app.models import ConfigProfile, Depot, DeviceModel, SpareUnit

COLUMNS = [
    "serial", "asset_tag", "model_sku", "depot_code", "state", "profile", "profile_version",
    "configured_at", "last_tested_at", "last_charged_at", "box_contents", "condition_notes",
]
REQUIRED = {"serial", "asset_tag", "model_sku", "depot_code"}
MAX_ROWS = 20000


def _lookup(session: Session, entity, key_column) -> dict[str, int]:
    return {k.upper(): i for k, i in session.execute(select(key_column, entity.id))}


class _CountingLines:
    """Feeds the csv reader line by line and counts the physical lines handed out, so each record
    is reported at the line where it starts (blank lines and quoted newlines included)."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))
        self.count = 0

    def __iter__(self) -> "_CountingLines":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        return line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) for every non-blank record, header included."""
    lines = _CountingLines(text)
    reader = csv.reader(lines)
    while True:
        start = lines.count + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unprocessable(
                f"The file is not readable CSV at line {start}: {exc}.",
                errors=[{"line": start, "message": f"not readable CSV: {exc}"}],
            ) from None
        if values:
            yield start, values


def parse_units_csv(session: Session, text: str) -> list[UnitCreate]:
    records = _records(text)
    first = next(records, None)
    header = [h.strip() for h in first[1]] if first else []
    missing = REQUIRED - set(header)
    if missing:
        raise Unprocessable(
            f"The CSV header lacks required column(s): {', '.join(sorted(missing))}.",
            errors=[{"line": 1, "message": f"missing column '{c}'"} for c in sorted(missing)],
        )
    unknown = set(header) - set(COLUMNS)
    if unknown:
        raise Unprocessable(
            f"Unknown column(s): {', '.join(sorted(unknown))}. Known: {', '.join(COLUMNS)}.",
            errors=[{"line": 1, "message": f"unknown column '{c}'"} for c in sorted(unknown)],
        )
    models = _lookup(session, DeviceModel, DeviceModel.sku)
    depots = _lookup(session, Depot, Depot.code)
    profiles = _lookup(session, ConfigProfile, ConfigProfile.name)

    errors: list[dict] = []
    rows: list[UnitCreate] = []
    # Serials and asset tags share one namespace: a scan finds a unit by either (create_unit refuses
    # a new unit whose serial or tag is any unit's serial or tag).
    seen: dict[str, tuple[int, str]] = {}
    for index, (line, values) in enumerate(records):
        if index >= MAX_ROWS:
            errors.append({"line": line, "message": f"more than {MAX_ROWS} rows; split the file"})
            break
        if len(values) > len(header):
            errors.append({"line": line, "message": "more fields than the header has"})
            continue
        row = {k: _unescape_cell(v.strip()) for k, v in zip(header, values)}
        row_errors = []
        model_id = models.get(row.get("model_sku", "").upper())
        if model_id is None:
            row_errors.append(f"model_sku: unknown SKU '{row.get('model_sku', '')}'")
        depot_id = depots.get(row.get("depot_code", "").upper())
        if depot_id is None:
            row_errors.append(f"depot_code: unknown depot '{row.get('depot_code', '')}'")
        profile_id = None
        if row.get("profile"):
            profile_id = profiles.get(row["profile"].upper())
            if profile_id is None:
                row_errors.append(f"profile: unknown config profile '{row['profile']}'")
        candidate = {
            "serial": row.get("serial", ""), "asset_tag": row.get("asset_tag", ""),
            "model_id": model_id or 0, "depot_id": depot_id or 0, "profile_id": profile_id,
            "box_contents": [x for x in row.get("box_contents", "").split(";") if x.strip()],
        }
        for optional in ("state", "profile_version", "configured_at", "last_tested_at",
                         "last_charged_at", "condition_notes"):
            if row.get(optional):
                candidate[optional] = row[optional]
        try:
            unit = UnitCreate.model_validate(candidate)
        except ValidationError as exc:
            row_errors += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            unit = None
        if unit is not None:
            # The rules create_unit enforces, checked here so they are reported with their line.
            if unit.state not in INITIAL_STATES:
                row_errors.append(
                    f"state: a new unit may start in {', '.join(sorted(INITIAL_STATES))}, not '{unit.state.value}'"
                )
            if unit.profile_version is not None and unit.profile_id is None and not row.get("profile"):
                row_errors.append("profile_version: needs a profile")
            for value, what in ((unit.serial, "serial"), (unit.asset_tag, "asset_tag")):
                if value in seen and seen[value][0] != line:
                    row_errors.append(f"{what}: '{value}' repeats line {seen[value][0]}")
                else:
                    seen.setdefault(value, (line, what))
        if row_errors:
            errors += [{"line": line, "message": m} for m in row_errors]
        elif unit is not None:
            rows.append(unit)
    for value in sorted(repository.codes_taken(session, set(seen))):
        line, what = seen[value]
        errors.append({"line": line, "message": f"{what}: '{value}' already exists"})
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise Unprocessable(
            f"The import was rejected: {len(errors)} problem(s); nothing was written.", errors=errors
        )
    if not rows:
        raise Unprocessable("The CSV has no data rows.", errors=[{"line": 2, "message": "no rows"}])
    return rows


def import_units(session: Session, text: str, *, actor: str) -> list[SpareUnit]:
    rows = parse_units_csv(session, text)
    return units.create_units(session, rows, actor=actor, reason="imported from CSV")


def export_units_csv(items: Iterable[SpareUnit]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for u in items:
        writer.writerow([_safe_cell(cell) for cell in (
            u.serial, u.asset_tag, u.model.sku, u.depot.code, u.state,
            u.profile.name if u.profile else "", u.profile_version or "",
            *(d.isoformat() if d else "" for d in (u.configured_at, u.last_tested_at, u.last_charged_at)),
            ";".join(u.box_contents or []), u.condition_notes or "",
        )])
    return out.getvalue()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula is exported with a leading apostrophe
    (OWASP CSV injection); the import takes it off again, so export → import round-trips."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value
