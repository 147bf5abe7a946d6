"""Settings that cannot work stop the start, saying why, instead of failing later."""

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app import cli
from app.settings import Settings, get_settings


def test_a_shippo_key_needs_the_webhook_secret():
    with pytest.raises(ValidationError, match="SHIPPO_WEBHOOK_SECRETS is empty"):
        Settings(shippo_api_key="shippo_live_x", shippo_webhook_secrets="")
    assert Settings(shippo_api_key="shippo_live_x", shippo_webhook_secrets="s3cret").webhook_secrets == ["s3cret"]
    assert Settings(shippo_api_key="").webhook_secrets == []  # the simulated carrier needs none


def test_serving_outside_the_demo_needs_a_public_address(monkeypatch, tmp_path):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.chdir(tmp_path)  # no .env here
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--port", "9"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "set PUBLIC_BASE_URL" in result.output
