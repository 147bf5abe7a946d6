"""What messages need from the settings, as one plain value (built once, by bootstrap)."""

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class NotifyConfig:
    public_base_url: str = "http://127.0.0.1:8000"
    opens: time = time(8)
    closes: time = time(20)
    support_contact: str = "your IT support team"
    sms_enabled: bool = False

    @classmethod
    def from_settings(cls, settings) -> "NotifyConfig":
        opens, closes = settings.opening_hours
        return cls(public_base_url=settings.public_base_url.rstrip("/"), opens=opens, closes=closes,
                   support_contact=settings.support_contact, sms_enabled=bool(settings.notify_sms_url))
