"""Dependencies shared by every router, defined once as Annotated aliases."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth.keys import Role, authenticate
from app.db import unit_of_work
from app.models import ApiKey


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with unit_of_work(request.app.state.session_factory) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer spk_…`")


def allow(*roles: Role) -> Callable[..., ApiKey]:
    """Dependency that admits keys holding one of `roles` (admin is always admitted)."""
    allowed = frozenset({Role.ADMIN, *roles})

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "An API key is required: send 'Authorization: Bearer <key>'.",
                                headers={"WWW-Authenticate": "Bearer"})
        # A short session of its own: authentication must not hold a transaction open for the
        # whole request (on SQLite every transaction holds the write lock).
        with request.app.state.session_factory() as session:
            key = authenticate(session, credentials.credentials)
        if key is None:
            raise HTTPException(401, "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"})
        if not allowed.intersection(key.roles):
            raise HTTPException(
                403, f"This key's roles ({', '.join(key.roles)}) may not do this; "
                     f"it needs one of: {', '.join(sorted(allowed))}."
            )
        return key

    check.allowed_roles = sorted(r.value for r in allowed)  # type: ignore[attr-defined]  # read by docs and tests
    return check


ANY_ROLE = (Role.SUPPORT, Role.WAREHOUSE, Role.INTEGRATION)
Reader = Annotated[ApiKey, Depends(allow(*ANY_ROLE))]
Admin = Annotated[ApiKey, Depends(allow())]
Warehouse = Annotated[ApiKey, Depends(allow(Role.WAREHOUSE))]
Support = Annotated[ApiKey, Depends(allow(Role.SUPPORT, Role.INTEGRATION))]
