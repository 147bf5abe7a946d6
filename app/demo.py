"""Demo data for the embedded default: three depots, a few models and profiles, ~50 units."""

from datetime import time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.inventory import catalog, units
from app.inventory.schemas import (
    DepotCreate,
    DeviceModelCreate,
    ParLevelSet,
    ProfileCreate,
    UnitCreate,
)
from app.inventory.states import UnitState
from app.models import Depot

DEPOTS = [
    {"code": "LON", "name": "London depot", "contact_name": "Spares desk", "company": "Example Ltd",
         "street1": "10 Bankside", "city": "London", "postal_code": "SE1 9PB", "country": "GB",
         "phone": "+44 20 7946 0000", "timezone": "Europe/London", "cutoff_local": time(16, 0)},
    {"code": "NYC", "name": "New York depot", "contact_name": "Spares desk", "company": "Example Inc",
         "street1": "200 Varick St", "city": "New York", "state": "NY", "postal_code": "10014", "country": "US",
         "phone": "+1 212 555 0100", "timezone": "America/New_York", "cutoff_local": time(17, 0)},
    {"code": "BER", "name": "Berlin depot", "contact_name": "Ersatzteillager", "company": "Example GmbH",
         "street1": "Friedrichstr. 68", "city": "Berlin", "postal_code": "10117", "country": "DE",
         "phone": "+49 30 5555 0000", "timezone": "Europe/Berlin", "cutoff_local": time(15, 30), "serves": ["EU"]},
]
MODELS = [
    {"sku": "LAT-5440", "category": "laptop", "maker": "Dell", "name": "Latitude 5440", "dims": (40, 30, 8, "2.4")},
    {"sku": "LAT-7440", "category": "laptop", "maker": "Dell", "name": "Latitude 7440", "dims": (40, 30, 8, "2.2")},
    {"sku": "MBP-14", "category": "laptop", "maker": "Apple", "name": "MacBook Pro 14", "dims": (38, 28, 8, "2.3")},
    {"sku": "IPH-15", "category": "phone", "maker": "Apple", "name": "iPhone 15", "dims": (20, 12, 6, "0.6")},
    {"sku": "HS-100", "category": "peripheral", "maker": "Jabra", "name": "Evolve2 headset", "dims": (25, 20, 10, "0.5")},
]
PROFILES = [("Win11-Sales", "2026.11"), ("Win11-Eng", "2026.10"), ("macOS-Std", "15.1"), ("iOS-Std", "2026.2")]
# model sku -> (profile, units per depot)
STOCK = {"LAT-5440": ("Win11-Sales", 5), "LAT-7440": ("Win11-Sales", 3), "MBP-14": ("macOS-Std", 3),
         "IPH-15": ("iOS-Std", 3), "HS-100": (None, 2)}


def seed_demo(session: Session) -> bool:
    """Adds the demo data unless depots already exist. Returns True when it seeded."""
    if session.scalar(select(Depot.id).limit(1)) is not None:
        return False
    now = clock.now()
    depots = [catalog.create_depot(session, DepotCreate(**d)) for d in DEPOTS]
    models = {}
    for m in MODELS:
        length, width, height, weight = m["dims"]
        models[m["sku"]] = catalog.create_model(session, DeviceModelCreate(
            sku=m["sku"], category=m["category"], maker=m["maker"], name=m["name"],
            length_cm=length, width_cm=width, height_cm=height, weight_kg=weight))
    catalog.update_model(session, models["LAT-5440"].id,
                         catalog.DeviceModelUpdate(substitute_ids=[models["LAT-7440"].id]))
    profiles = {name: catalog.create_profile(session, ProfileCreate(name=name, current_version=v))
                for name, v in PROFILES}
    n = 0
    for depot in depots:
        for sku, (profile_name, count) in STOCK.items():
            profile = profiles.get(profile_name)
            catalog.set_par_level(session, depot.id, models[sku].id, ParLevelSet(min_ready=max(1, count - 1)))
            for i in range(count):
                n += 1
                # Every fifth unit is imaged with last month's build, to show stale stock.
                version = profile.current_version if profile and n % 5 else ("2026.09" if profile else None)
                units.create_unit(session, UnitCreate(
                    serial=f"SN{depot.code}{n:05d}", asset_tag=f"AT-{n:05d}",
                    model_id=models[sku].id, depot_id=depot.id, state=UnitState.READY,
                    profile_id=profile.id if profile else None, profile_version=version,
                    configured_at=now - timedelta(days=n % 20 + 1),
                    last_tested_at=now - timedelta(days=n % 7), last_charged_at=now - timedelta(days=n % 7),
                    box_contents=["charger", "cable"] if sku != "HS-100" else ["usb dongle"],
                ), actor="seed-demo", reason="demo stock")
    # Three laptops out with workers: the broken kit that swaps bring back.
    for i, depot in enumerate(depots):
        unit = units.create_unit(session, UnitCreate(
            serial=f"SNOUT{i:04d}", asset_tag=f"AT-9{i:04d}", model_id=models["LAT-5440"].id, depot_id=depot.id,
            state=UnitState.READY, profile_id=profiles["Win11-Sales"].id, profile_version="2026.09",
            configured_at=now - timedelta(days=200), box_contents=["charger"],
        ), actor="seed-demo", reason="demo fleet")
        for step in (UnitState.RESERVED, UnitState.PACKED, UnitState.IN_TRANSIT, UnitState.DEPLOYED):
            units.transition_unit(session, unit, step, actor="seed-demo", reason="deployed before the demo")
    return True
