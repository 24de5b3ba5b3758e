"""Keystone's error body: {"error": {"code": 401, "title": "Unauthorized", "message": "..."}}."""

from __future__ import annotations

from fastapi.responses import JSONResponse

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type"}

# Keystone's wording: the same for an unknown user, a wrong password, a disabled user and a
# project the user has no role on, so that the answer never says which one it was.
AUTH_REQUIRED = "The request you have made requires authentication."


class IdentityError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


def unauthorized() -> IdentityError:
    return IdentityError(401, AUTH_REQUIRED)


def forbidden(action: str) -> IdentityError:
    return IdentityError(403, f"You are not authorized to perform the requested action: {action}.")


def not_found(kind: str, ident: str) -> IdentityError:
    return IdentityError(404, f"Could not find {kind}: {ident}.")


def bad_request(message: str) -> IdentityError:
    return IdentityError(400, message)


def conflict(message: str) -> IdentityError:
    return IdentityError(409, f"Conflict occurred attempting to store {message}.")


def error_response(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Keystone uri="local"'} if status == 401 else None
    body = {"error": {"code": status, "title": _TITLES.get(status, "Error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)
