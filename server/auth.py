"""Bearer tokens: HMAC user tokens ``<did>.<hex>`` and the admin token.

Stateless on purpose: any process that knows AUTH_SECRET (tests, the load generator,
``mcops-server token``) can mint a token the server accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from server.errors import ServerError

__all__ = [
    "DID",
    "Forbidden",
    "Unauthorized",
    "bearer",
    "is_admin",
    "user_token",
    "verify_user_token",
]

DID = re.compile(r"did:[A-Za-z0-9._:%-]+")
"""The shape of a did: did:<method>:<id> in ASCII (W3C DID syntax, loosely)."""


def user_token(did: str, secret: str) -> str:
    """The bearer token of user ``did`` under ``secret``."""
    digest = hmac.new(secret.encode(), did.encode(), hashlib.sha256).hexdigest()
    return f"{did}.{digest}"


def verify_user_token(token: str, secret: str, *, max_did_length: int = 256) -> str | None:
    """The did the token was minted for, or None when it is not valid.

    A token that is not ASCII, or whose did is not a did within `max_did_length`,
    is simply invalid (401), never an error.
    """
    if not token.isascii():
        return None
    did, sep, _ = token.rpartition(".")
    if not sep or len(did) > max_did_length or not DID.fullmatch(did):
        return None
    if hmac.compare_digest(user_token(did, secret), token):
        return did
    return None


def is_admin(token: str, admin_token: str) -> bool:
    """Constant-time comparison with the admin token."""
    return hmac.compare_digest(token.encode("utf-8", "replace"), admin_token.encode())


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
