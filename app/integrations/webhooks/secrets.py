"""Endpoint signing secrets: `whsec_` + base64 of 24 random bytes, shown once, kept encrypted (Fernet,
with a key derived from the service's own secret: a database copy alone cannot sign)."""

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from app.keyring import Keyring

PREFIX = "whsec_"
PURPOSE = "webhook-endpoint-secrets"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _fernet(keyring: Keyring, session: Session | None) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(keyring.key(PURPOSE, session)))


def seal(keyring: Keyring, secret: str, session: Session | None = None) -> str:
    return _fernet(keyring, session).encrypt(secret.encode()).decode()


def unseal(keyring: Keyring, sealed: str, session: Session | None = None) -> str:
    try:
        return _fernet(keyring, session).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise RuntimeError("a webhook secret cannot be decrypted: was SECRET_KEY changed?") from None
