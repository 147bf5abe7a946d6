"""Input and output shapes of the inventory (used by the API, the CSV import and the CLI)."""

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from annotated_types import Ge, Le
from holidays.registry import EntityLoader
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)

from app.inventory.regions import REGIONS
from app.inventory.states import UnitState


def _upper_code(value: str) -> str:
    return value.strip().upper()


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not an IANA timezone (e.g. Europe/Berlin)") from None
    return value


@cache
def _countries() -> frozenset[str]:
    """The country codes `holidays` has a calendar for, read from its registry: the same set as
    `holidays.list_supported_countries()`, which imports every country's module to list their
    subdivisions too (0.1 s of CPU at each process's first check)."""
    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


def _check_country(value: str) -> str:
    value = value.upper()
    if value not in _countries():
        raise ValueError(f"'{value}' is not an ISO 3166 country code with a holiday calendar")
    return value


Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_upper_code)
]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptText200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_check_country)]


def _check_served(value: str) -> str:
    value = value.strip().upper()
    return value if value in REGIONS else _check_country(value)


HsCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4}(\.?\d{2}){1,3}$"), Field(
    description="Harmonized System tariff number, 6 to 10 digits (e.g. 8471.30 for a laptop); for customs")]
CountryOrRegion = Annotated[str, StringConstraints(min_length=2, max_length=8), AfterValidator(_check_served)]
Serves = Annotated[list[CountryOrRegion], Field(max_length=60, description=(
    "Countries (ISO 3166 codes) or regions (`EU`: the EU customs union) served besides the depot's own "
    "country. Empty: its own country only"))]
PositiveDecimal = Annotated[Decimal, Field(gt=0, le=10000, decimal_places=3)]
Money = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
# The columns keep 2 decimals for dimensions (cm) and 3 for weight (kg); more would be rounded away.
Dimension = Annotated[Decimal, Field(gt=0, le=10000, decimal_places=2)]


def _naive(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("give the depot's local time without an offset (HH:MM)")
    return value


# A wall-clock time in the depot's own timezone. JSON Schema's "time" format demands an offset, which
# a local time has not: documented as a pattern instead.
LocalTime = Annotated[time, AfterValidator(_naive), WithJsonSchema(
    {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
     "examples": ["16:00"]})]

# A row id as input (path, query or body): the database's integer columns are 32-bit, so a larger
# number is a 422 that names the field rather than an overflow in the driver.
MAX_ID = 2**31 - 1
Id = Annotated[int, Ge(1), Le(MAX_ID)]


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        # No text field takes a NUL character (PostgreSQL cannot store one).
        if _has_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Category(StrEnum):
    LAPTOP = "laptop"
    PHONE = "phone"
    TABLET = "tablet"
    PERIPHERAL = "peripheral"
    DOCK = "dock"
    MONITOR = "monitor"
    OTHER = "other"


# ---- depots -------------------------------------------------------------------------------


class DepotCreate(Input):
    code: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{2,32}$"), AfterValidator(_upper_code)
    ]
    name: Text200
    contact_name: Text200
    company: OptText200 = None
    street1: Text200
    street2: OptText200 = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    state: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country: Country
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    email: EmailStr | None = None
    timezone: Timezone
    cutoff_local: LocalTime = Field(description="Courier cut-off, local time of the depot (HH:MM)")
    serves: Serves = []


class DepotUpdate(Input):
    name: Text200 | None = None
    contact_name: Text200 | None = None
    company: OptText200 = None
    street1: Text200 | None = None
    street2: OptText200 = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    state: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    country: Country | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    email: EmailStr | None = None
    timezone: Timezone | None = None
    cutoff_local: LocalTime | None = None
    serves: Serves | None = None


class DepotRead(Output):
    id: int
    code: str
    name: str
    contact_name: str
    company: str | None
    street1: str
    street2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str
    phone: str | None
    email: str | None
    timezone: str
    cutoff_local: LocalTime
    serves: list[str]
    created_at: datetime


# ---- device models -------------------------------------------------------------------------


class Accessory(Input):
    item: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)]
    cost: Money = Field(description="What replacing it costs, in the model's currency")

    @field_serializer("cost", when_used="always")
    def _cost_text(self, cost: Decimal) -> str:  # stored as JSON: exact, as text
        return f"{cost:.2f}"


Accessories = Annotated[list[Accessory], Field(max_length=20, description=(
    "The kit a unit ships with (charger, cable, dock…): asked for at packing, checked at return inspection"))]


class DeviceModelCreate(Input):
    sku: Code
    category: Category
    maker: Text200
    name: Text200
    length_cm: Dimension
    width_cm: Dimension
    height_cm: Dimension
    weight_kg: PositiveDecimal
    replacement_value: Money = Field(default=Decimal(0), description="Charged back when a device never returns")
    currency: Currency = "USD"
    hs_code: HsCode | None = None
    origin_country: Country | None = Field(default=None, description="Where the model is made (customs)")
    accessories: Accessories = []
    substitute_ids: list[Id] = Field(default_factory=list, max_length=50)


class DeviceModelUpdate(Input):
    category: Category | None = None
    maker: Text200 | None = None
    name: Text200 | None = None
    length_cm: Dimension | None = None
    width_cm: Dimension | None = None
    height_cm: Dimension | None = None
    weight_kg: PositiveDecimal | None = None
    replacement_value: Money | None = None
    currency: Currency | None = None
    hs_code: HsCode | None = None
    origin_country: Country | None = None
    accessories: Accessories | None = None
    substitute_ids: list[Id] | None = Field(default=None, max_length=50)


class DeviceModelRead(Output):
    id: int
    sku: str
    category: Category
    maker: str
    name: str
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal
    weight_kg: Decimal
    replacement_value: Decimal
    currency: str
    hs_code: str | None
    origin_country: str | None
    accessories: list[Accessory]
    substitute_ids: list[int]
    created_at: datetime


# ---- config profiles -------------------------------------------------------------------------

Version = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class ProfileCreate(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    current_version: Version
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class ProfileUpdate(Input):
    current_version: Version | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class ProfileRead(Output):
    id: int
    name: str
    current_version: str
    description: str | None
    updated_at: datetime


# ---- units -----------------------------------------------------------------------------------

BoxItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class UnitCreate(Input):
    serial: Code
    asset_tag: Code
    model_id: Id
    depot_id: Id
    state: UnitState = UnitState.RECEIVING
    condition_notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    profile_id: Id | None = None
    profile_version: Version | None = None
    configured_at: AwareDatetime | None = None
    last_tested_at: AwareDatetime | None = None
    last_charged_at: AwareDatetime | None = None
    box_contents: list[BoxItem] = Field(default_factory=list, max_length=20)

    @field_validator("box_contents")
    @classmethod
    def _normalise_items(cls, items: list[str]) -> list[str]:
        return sorted({item.lower() for item in items})


class UnitUpdate(Input):
    condition_notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    profile_id: Id | None = None
    profile_version: Version | None = None
    configured_at: AwareDatetime | None = None
    last_tested_at: AwareDatetime | None = None
    last_charged_at: AwareDatetime | None = None
    box_contents: list[BoxItem] | None = Field(default=None, max_length=20)

    @field_validator("box_contents")
    @classmethod
    def _normalise_items(cls, items: list[str] | None) -> list[str] | None:
        return None if items is None else sorted({item.lower() for item in items})


class UnitMove(Input):
    depot_id: Id
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TransitionRequest(Input):
    target_state: UnitState
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class UnitRead(Output):
    id: int
    serial: str
    asset_tag: str
    model_id: int
    model_sku: str
    depot_id: int
    depot_code: str
    state: UnitState
    allowed_transitions: list[UnitState]
    condition_notes: str | None
    profile_id: int | None
    profile_name: str | None
    profile_version: str | None
    profile_current_version: str | None
    is_stale: bool
    configured_at: datetime | None
    last_tested_at: datetime | None
    last_charged_at: datetime | None
    box_contents: list[str]
    cosmetic_grade: str | None = None
    battery_health: int | None = None
    created_at: datetime
    updated_at: datetime


class LedgerEntryRead(Output):
    id: int
    unit_id: int
    from_state: UnitState | None
    to_state: UnitState
    from_depot_id: int | None
    depot_id: int
    actor: str
    reason: str
    reference: str | None
    at: datetime


# ---- stock -------------------------------------------------------------------------------------


class ParLevelSet(Input):
    min_ready: int = Field(ge=0, le=100000)


class ParLevelEntry(Input):
    """One depot × model, each named by id or by code / SKU (a simulation's recommendation names them by
    code and SKU)."""

    depot_id: Id | None = None
    depot_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                                 max_length=20)] | None = None
    model_id: Id | None = None
    sku: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                          max_length=100)] | None = None
    min_ready: int = Field(ge=0, le=100000)

    @model_validator(mode="after")
    def _named_once(self):
        if (self.depot_id is None) == (self.depot_code is None):
            raise ValueError("name the depot by depot_id or by depot_code (one of them)")
        if (self.model_id is None) == (self.sku is None):
            raise ValueError("name the model by model_id or by sku (one of them)")
        return self


class ParLevelsSet(Input):
    levels: list[ParLevelEntry] = Field(min_length=1, max_length=10000)


class ParLevelRead(Output):
    depot_id: int
    depot_code: str
    model_id: int
    sku: str
    min_ready: int


class StockRow(BaseModel):
    depot_id: int
    depot_code: str
    model_id: int
    model_sku: str
    counts: dict[UnitState, int]
    ready: int
    stale_ready: int
    par_level: int | None
    below_par: bool


# ---- legal holds -----------------------------------------------------------------------------


class LegalHoldCreate(Input):
    """One unit, or one worker (every unit they have had: delivered to them or returned by them)."""

    unit_id: Id | None = None
    worker_email: EmailStr | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    until: date | None = Field(default=None, description="Held through this day; empty: until lifted")


class LegalHoldLift(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class LegalHoldRead(Output):
    id: int
    unit_id: int | None
    worker_email: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    until: date | None
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None


# ---- wipe evidence (NIST SP 800-88 Rev. 1) ---------------------------------------------------


class WipeMethod(StrEnum):
    CLEAR = "clear"  # logical techniques against simple, non-invasive recovery (overwrite)
    PURGE = "purge"  # against laboratory recovery (block erase, cryptographic erase, secure erase)
    DESTROY = "destroy"  # the media can no longer store data (shred, disintegrate, incinerate)


class WipeResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


WipeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WipeCreate(Input):
    method: WipeMethod
    technique: WipeText = Field(description="e.g. 'cryptographic erase', 'overwrite, 1 pass', 'NVMe sanitize'")
    tool: WipeText = Field(description="The sanitization tool, e.g. 'Blancco Drive Eraser'")
    tool_version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    technician: WipeText = Field(description="Who performed it")
    started_at: AwareDatetime | None = Field(default=None, description="Default: ended_at")
    ended_at: AwareDatetime | None = Field(default=None, description="Default: now")
    result: WipeResult
    verification: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="How the result was verified, e.g. 'full read-back verification, no data found'")
    verified_by: WipeText | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class WipeRead(Output):
    id: int
    certificate_number: str
    unit_id: int
    serial: str
    method: str
    technique: str
    tool: str
    tool_version: str
    technician: str
    started_at: datetime
    ended_at: datetime
    result: str
    verification: str
    verified_by: str | None
    notes: str | None
    recorded_by: str
    recorded_at: datetime
    certificate_pdf: str
    certificate_json: str


# ---- warranty claims -------------------------------------------------------------------------


class ClaimOutcome(StrEnum):
    REPAIRED = "repaired"  # back to triage (then refurbish, wipe and all)
    REPLACED = "replaced"  # the old unit retired; the vendor's replacement taken in as a new unit
    REFUSED = "refused"  # back to triage


class ClaimCreate(Input):
    vendor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    rma_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    due_date: date = Field(description="When the vendor promises it back")
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Replacement(Input):
    serial: Code
    asset_tag: Code


class ClaimClose(Input):
    outcome: ClaimOutcome
    replacement: Replacement | None = Field(default=None, description="The vendor's replacement (outcome replaced)")
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ClaimRead(Output):
    id: int
    unit_id: int
    vendor: str
    rma_number: str
    opened_at: datetime
    opened_by: str
    shipped_at: datetime | None
    due_date: date
    outcome: str | None
    closed_at: datetime | None
    replacement_unit_id: int | None
    notes: str | None
    escalated_at: datetime | None
