"""Runtime configuration, read once from the environment (prefix-free, .env supported)."""

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./data/spares.db",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production.",
    )
    shippo_api_key: str = Field(default="", repr=False)
    shippo_base_url: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    # Secrets in the Shippo webhook URL (/webhooks/shippo/{secret}); two during a rotation, comma-separated.
    shippo_webhook_secrets: str = Field(default="", repr=False)
    # Poll the carrier for shipments with no tracking news for this long (seconds).
    tracking_poll_quiet_seconds: int = 3600
    # The simulated carrier's pace: when a label goes in transit and is delivered, after purchase.
    sim_in_transit_after_seconds: int = 3600
    sim_delivered_after_seconds: int = 12 * 3600
    # Run the outbox worker and scheduler inside the API process (the embedded default).
    run_background_jobs: bool = False
    log_level: str = "INFO"
    max_page_size: int = 200

    @property
    def webhook_secrets(self) -> list[str]:
        return [s.strip() for s in self.shippo_webhook_secrets.split(",") if s.strip()]

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; make the short form work.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not (value.startswith(("sqlite", "postgresql+psycopg"))):
            raise ValueError("DATABASE_URL must be sqlite:///… or postgresql+psycopg://…")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
