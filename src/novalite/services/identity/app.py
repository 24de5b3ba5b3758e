"""The Identity v3 application, mounted at /identity: discovery and tokens.

Discovery is served in every configuration (labs without identity point clients'
`identity_endpoint_override` at it); tokens and the admin API only when this cloud is its
own identity service (`[api] auth_strategy = "identity"`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalite.runtime import Runtime
from novalite.services.identity import admin_routes, tokens, views
from novalite.services.identity.authn import authenticate
from novalite.services.identity.catalog import catalog
from novalite.services.identity.common import (
    caller,
    identity_base,
    is_admin,
    read_body,
    services_base,
    sessions,
)
from novalite.services.identity.errors import IdentityError, error_response, not_found
from novalite.services.identity.schemas import AuthBody

V3_ID = "v3.14"


def v3_document(identity_url: str) -> dict[str, Any]:
    return {"id": V3_ID, "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{identity_url}/v3/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}


async def versions(request: Request) -> JSONResponse:
    # 300 Multiple Choices with versions.values, as Keystone answers its root.
    return JSONResponse({"versions": {"values": [v3_document(identity_base(request))]}}, status_code=300)


def _token_response(request: Request, info: tokens.TokenInfo, status: int, subject: str) -> JSONResponse:
    runtime = request.app.state.runtime
    with_catalog = "nocatalog" not in request.query_params
    body = views.token(info, identity_base(request), services_base(request), runtime.settings.service.region,
                       with_catalog)
    return JSONResponse(body, status_code=status, headers={"X-Subject-Token": subject})


def _install_token_routes(app: FastAPI) -> None:
    @app.post("/v3/auth/tokens")
    async def issue_token(request: Request) -> JSONResponse:
        body = await read_body(request, "auth", AuthBody)
        lifetime = dt.timedelta(seconds=request.app.state.runtime.settings.identity.token_expiration)
        async with sessions(request)() as session, session.begin():
            info = await authenticate(session, body, lifetime)
        assert info.value is not None
        return _token_response(request, info, 201, info.value)

    async def _subject(request: Request) -> tokens.TokenInfo:
        async with sessions(request)() as session:
            me = await caller(session, request)
            subject_value = request.headers.get("x-subject-token", "")
            subject = await tokens.validate(session, subject_value)
        # Anyone may check their own token; only an admin may look at somebody else's.
        if subject is None or (subject.user.id != me.user.id and not is_admin(me)):
            raise not_found("token", "the subject token")
        return subject

    @app.get("/v3/auth/tokens")
    async def validate_token(request: Request) -> JSONResponse:
        subject = await _subject(request)
        return _token_response(request, subject, 200, request.headers["x-subject-token"])

    @app.head("/v3/auth/tokens")
    async def check_token(request: Request) -> Response:
        await _subject(request)
        return Response(status_code=200)

    @app.delete("/v3/auth/tokens")
    async def revoke_token(request: Request) -> Response:
        await _subject(request)
        async with sessions(request)() as session, session.begin():
            await tokens.revoke(session, request.headers["x-subject-token"])
        return Response(status_code=204)

    @app.get("/v3/auth/catalog")
    async def token_catalog(request: Request) -> dict[str, Any]:
        async with sessions(request)() as session:
            await caller(session, request)
        runtime = request.app.state.runtime
        return {"catalog": catalog(services_base(request), runtime.settings.service.region),
                "links": {"self": f"{identity_base(request)}/v3/auth/catalog"}}


def build_identity_app(runtime: Runtime, serve_tokens: bool) -> FastAPI:
    app = FastAPI(title="novalite Identity API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime

    @app.exception_handler(IdentityError)
    async def _identity_error(_: Request, exc: IdentityError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "; ".join(str(e.get("msg")) for e in exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "The resource could not be found." if exc.status_code == 404 else str(exc.detail)
        return error_response(exc.status_code, message)

    app.add_api_route("/", versions, methods=["GET"])

    @app.get("/v3")
    @app.get("/v3/")
    async def v3(request: Request) -> dict[str, Any]:
        return {"version": v3_document(identity_base(request))}

    if serve_tokens:
        _install_token_routes(app)
        admin_routes.install(app)
    return app


def mount_identity(app: FastAPI, runtime: Runtime) -> None:
    """Serve /identity (the bare path too: clients discover from it without a slash)."""
    serve_tokens = runtime.settings.api.auth_strategy == "identity"
    app.add_api_route("/identity", versions, methods=["GET"], include_in_schema=False)
    app.mount("/identity", build_identity_app(runtime, serve_tokens))
