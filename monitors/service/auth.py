"""API-key authentication as a FastAPI dependency: ``Depends(require_scope("ingest"))``.

Every ``/v1`` route and (unless ``--public-metrics``) ``/metrics`` needs
``Authorization: Bearer <key>``. No key, a malformed, unknown, revoked or wrong key →
401 with ``WWW-Authenticate: Bearer``; a valid key without the scope, or restricted to
another model than the path's ``{name}`` → 403. The key is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitors.service.errors import AuthenticationError, ForbiddenError
from monitors.service.keys import KeyChecker, Principal

__all__ = ["bearer", "require_scope"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `driftwarden keys create NAME --scope ingest|read|admin`.",
)


def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency that authenticates the request and checks ``scope`` and the model.

    Parameters
    ----------
    scope
        ``ingest`` or ``read`` (an ``admin`` key has both).
    """

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        if credentials is None:
            raise AuthenticationError(
                "this endpoint needs an API key: send 'Authorization: Bearer <key>' "
                "(create one with 'driftwarden keys create')"
            )
        checker: KeyChecker = request.app.state.keys
        principal = checker.authenticate(credentials.credentials)
        if not principal.has_scope(scope):
            raise ForbiddenError(
                f"the key {principal.name!r} has scope {principal.scope!r}; this endpoint "
                f"needs {scope!r} (or 'admin')"
            )
        model = request.path_params.get("name")
        if model is not None and not principal.may_see(str(model)):
            raise ForbiddenError(
                f"the key {principal.name!r} is restricted to model {principal.model!r}"
            )
        return principal

    return dependency
