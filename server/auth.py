"""Bearer tokens: HMAC user tokens ``<did>.<hex>`` and the admin token.

Stateless on purpose: any process that knows AUTH_SECRET (tests, the load generator,
``mcops-server token``) can mint a token the server accepts.
"""

from __future__ import annotations

import hashlib
import hmac

from server.errors import ServerError

__all__ = [
    "Forbidden",
    "Unauthorized",
    "bearer",
    "is_admin",
    "user_token",
    "verify_user_token",
]


def user_token(did: str, secret: str) -> str:
    """The bearer token of user ``did`` under ``secret``."""
    digest = hmac.new(secret.encode(), did.encode(), hashlib.sha256).hexdigest()
    return f"{did}.{digest}"


def verify_user_token(token: str, secret: str) -> str | None:
    """The did the token was minted for, or None when it is not valid."""
    did, sep, _ = token.rpartition(".")
    if not sep or not did:
        return None
    if hmac.compare_digest(user_token(did, secret), token):
        return did
    return None


def is_admin(token: str, admin_token: str) -> bool:
    """Constant-time comparison with the admin token."""
    return hmac.compare_digest(token.encode(), admin_token.encode())


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Unauthorized(ServerError):
    """No bearer token, or one this server did not mint (401)."""

    http_status = 401


class Forbidden(ServerError):
    """A valid user token on an admin endpoint (403)."""

    http_status = 403
