"""Nova's error bodies: {"badRequest": {"code": 400, "message": "..."}} and friends."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalite.auth import Unauthorized
from novalite.exceptions import Conflict, MessageDeliveryFailure, MessagingTimeout, NotFound
from novalite.states import InvalidState

_FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
    415: "badMediaType", 429: "overLimit", 500: "computeFault", 501: "notImplemented",
    503: "serviceUnavailable",
}


class ComputeFault(Exception):
    """Raise anywhere in a compute handler to answer with Nova's fault body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status, self.message, self.headers = status, message, headers or {}
        super().__init__(message)


def bad_request(message: str) -> ComputeFault:
    return ComputeFault(400, message)


def not_found(message: str) -> ComputeFault:
    return ComputeFault(404, message)


def forbidden(message: str = "Policy doesn't allow this action to be performed.") -> ComputeFault:
    return ComputeFault(403, message)


def conflict(message: str) -> ComputeFault:
    return ComputeFault(409, message)


def fault_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    name = _FAULT_NAMES.get(status, "computeFault")
    return JSONResponse({name: {"code": status, "message": message}}, status_code=status, headers=headers)


def describe_validation(exc: ValidationError | RequestValidationError) -> str:
    """One sentence per problem, naming the field and the value, as Nova's validator does."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        field = "/".join(loc) or "body"
        if err["type"] == "extra_forbidden":
            parts.append(f"Additional properties are not allowed ('{loc[-1]}' was unexpected)")
        elif err["type"] == "missing":
            parts.append(f"'{loc[-1] if loc else field}' is a required property")
        else:
            value = err.get("input")
            parts.append(f"Invalid input for field/attribute {field}. Value: {value!r}. {err['msg']}")
    return "; ".join(parts)


def install_handlers(app: Any) -> None:
    @app.exception_handler(ComputeFault)
    async def _fault(_: Request, exc: ComputeFault) -> JSONResponse:
        return fault_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return fault_response(400, describe_validation(exc))

    @app.exception_handler(ValidationError)
    async def _pydantic(_: Request, exc: ValidationError) -> JSONResponse:
        return fault_response(400, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "The request could not be served."
        if exc.status_code == 404 and message == "Not Found":
            message = "The resource could not be found."
        if exc.status_code == 405:
            message = "The method is not allowed for the requested URL."
        return fault_response(exc.status_code, message)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return fault_response(401, str(exc))

    @app.exception_handler(InvalidState)
    async def _state(_: Request, exc: InvalidState) -> JSONResponse:
        return fault_response(409, str(exc))

    @app.exception_handler(MessageDeliveryFailure)
    async def _undelivered(_: Request, exc: MessageDeliveryFailure) -> JSONResponse:
        return fault_response(503, f"A service this request needs is not reachable: {exc}")

    @app.exception_handler(MessagingTimeout)
    async def _timeout(_: Request, exc: MessagingTimeout) -> JSONResponse:
        return fault_response(503, f"A service this request needs did not answer: {exc}")

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return fault_response(409, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return fault_response(404, str(exc))
