"""Glance's error body: {"code": "404 Not Found", "title": "Not Found", "message": "..."}."""

from __future__ import annotations

from fastapi.responses import JSONResponse

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 410: "Gone", 413: "Request Entity Too Large", 415: "Unsupported Media Type"}


class ImageError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


def error_response(status: int, message: str) -> JSONResponse:
    title = _TITLES.get(status, "Error")
    headers = {"WWW-Authenticate": 'Keystone uri="local"'} if status == 401 else None
    return JSONResponse({"code": f"{status} {title}", "title": title, "message": message},
                        status_code=status, headers=headers)
