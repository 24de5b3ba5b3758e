"""The Image API v2 application, mounted at /image."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select, update
from starlette.exceptions import HTTPException as StarletteHTTPException

from novalite.auth import Unauthorized
from novalite.runtime import Runtime
from novalite.services.image import listing, store, views
from novalite.services.image.db_models import Image
from novalite.services.image.errors import ImageError, error_response
from novalite.services.image.service import (
    Caller,
    boot_properties,
    get_visible,
    new_image,
    remove_attribute,
    require_write,
    set_attribute,
)

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",)
CURRENT = "v2.16"


def versions_document(base: str) -> dict[str, Any]:
    link = [{"rel": "self", "href": f"{base}/image/v2/"}]
    older = [f"v2.{n}" for n in range(15, -1, -1) if n not in (2,)]
    return {"versions": [{"id": CURRENT, "status": "CURRENT", "links": link}]
            + [{"id": v, "status": "SUPPORTED", "links": link} for v in older]}


def _base(request: Request) -> str:
    configured = request.app.state.runtime.settings.service.public_url
    return configured.rstrip("/") if configured else f"{request.url.scheme}://{request.url.netloc}"


async def versions(request: Request) -> JSONResponse:
    return JSONResponse(versions_document(_base(request)), status_code=300)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def _caller(request: Request) -> Caller:
    ctx = await _runtime(request).authenticator.authenticate(request.headers.get("x-auth-token"))
    return Caller.of(ctx)


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise ImageError(400, "The request body is not valid JSON.") from None


def _sidecar(runtime: Runtime, image: Image) -> None:
    store.write_sidecar(store.images_dir(runtime.settings.service.data_dir), image.id, image.name,
                        boot_properties(image))


def _apply_patch(image: Image, ops: Any, who: Caller) -> None:
    if not isinstance(ops, list):
        raise ImageError(400, "A JSON patch is a list of operations.")
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") or \
                not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
            raise ImageError(400, f"Invalid operation {op!r}: give op (add, replace, remove) and a /path.")
        pointer = op["path"][1:]
        if "/" in pointer:
            raise ImageError(400, f"Invalid path {op['path']!r}: only top-level attributes can be changed.")
        name = pointer.replace("~1", "/").replace("~0", "~")
        if op["op"] == "remove":
            remove_attribute(image, name)
            continue
        if "value" not in op:
            raise ImageError(400, f"Operation {op['op']} on {op['path']} needs a value.")
        if op["op"] == "replace" and not hasattr(Image, name) and name not in (image.properties or {}):
            raise ImageError(409, f"Property {name} does not exist.")
        set_attribute(image, name, op["value"], who)


def _install_image_routes(app: FastAPI) -> None:
    @app.get("/v2/images")
    async def list_images(request: Request) -> dict[str, Any]:
        who = await _caller(request)
        async with _runtime(request).require_api_db()() as session:
            rows = list((await session.scalars(select(Image))).all())
        return listing.page(rows, request.query_params, who)

    @app.post("/v2/images", status_code=201)
    async def create_image(request: Request) -> dict[str, Any]:
        who = await _caller(request)
        require_write(None, who, "create")
        body = await _json(request)
        if not isinstance(body, dict):
            raise ImageError(400, "The request body must be a JSON object of image attributes.")
        image = new_image(body, who)
        async with _runtime(request).require_api_db()() as session:
            if await session.get(Image, image.id) is not None:
                raise ImageError(409, f"Image with identifier {image.id} already exists!")
            session.add(image)
            await session.commit()
            return views.image(image)

    @app.get("/v2/images/{image_id}")
    async def show_image(request: Request, image_id: str) -> dict[str, Any]:
        who = await _caller(request)
        async with _runtime(request).require_api_db()() as session:
            return views.image(await get_visible(session, image_id, who))

    @app.patch("/v2/images/{image_id}")
    async def update_image(request: Request, image_id: str) -> dict[str, Any]:
        who = await _caller(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            raise ImageError(415, f"Unsupported Content-Type {content_type!r}: send {PATCH_TYPES[0]}.")
        ops = await _json(request)
        async with _runtime(request).require_api_db()() as session:
            image = await get_visible(session, image_id, who)
            require_write(image, who, "modify")
            _apply_patch(image, ops, who)  # all or nothing: a bad op leaves the session uncommitted
            await session.commit()
            if image.status == "active":
                _sidecar(_runtime(request), image)
            return views.image(image)

    @app.delete("/v2/images/{image_id}", status_code=204)
    async def delete_image(request: Request, image_id: str) -> Response:
        who = await _caller(request)
        async with _runtime(request).require_api_db()() as session:
            image = await get_visible(session, image_id, who)
            require_write(image, who, "delete")
            if image.protected:
                raise ImageError(403, f"Image {image_id} is protected and cannot be deleted.")
            await session.delete(image)
            await session.commit()
        store.remove(store.images_dir(_runtime(request).settings.service.data_dir), image_id)
        return Response(status_code=204)

    @app.put("/v2/images/{image_id}/tags/{tag}", status_code=204)
    async def add_tag(request: Request, image_id: str, tag: str) -> Response:
        await _change_tags(request, image_id, lambda tags: tags + [tag] if tag not in tags else tags)
        return Response(status_code=204)

    @app.delete("/v2/images/{image_id}/tags/{tag}", status_code=204)
    async def delete_tag(request: Request, image_id: str, tag: str) -> Response:
        def _drop(tags: list[str]) -> list[str]:
            if tag not in tags:
                raise ImageError(404, f"Tag {tag} not found on image {image_id}.")
            return [t for t in tags if t != tag]

        await _change_tags(request, image_id, _drop)
        return Response(status_code=204)


async def _change_tags(request: Request, image_id: str, change: Any) -> None:
    who = await _caller(request)
    async with _runtime(request).require_api_db()() as session:
        image = await get_visible(session, image_id, who)
        require_write(image, who, "modify")
        set_attribute(image, "tags", change(list(image.tags or [])), who)
        await session.commit()


def _install_data_routes(app: FastAPI) -> None:
    @app.put("/v2/images/{image_id}/file", status_code=204)
    async def upload(request: Request, image_id: str) -> Response:
        who = await _caller(request)
        runtime = _runtime(request)
        sessions = runtime.require_api_db()
        async with sessions() as session:
            image = await get_visible(session, image_id, who)
            require_write(image, who, "upload data to")
            if not image.disk_format or not image.container_format:
                raise ImageError(400, "Properties disk_format, container_format must be set prior to saving data.")
            # Claim the upload: of two concurrent uploads, only one moves queued -> saving.
            claimed = await session.execute(update(Image).where(Image.id == image_id, Image.status == "queued")
                                            .values(status="saving"))
            await session.commit()
            if not claimed.rowcount:
                raise ImageError(409, f"Image {image_id} already has data (status {image.status}); "
                                      "create a new image to upload other data.")
            disk_format, properties = image.disk_format, dict(image.properties or {})
        expected = {algo: properties[f"owner_specified.openstack.{algo}"] for algo in ("md5", "sha256")
                    if properties.get(f"owner_specified.openstack.{algo}")}
        length = request.headers.get("content-length")
        root = store.images_dir(runtime.settings.service.data_dir)
        try:
            stored = await store.receive(root, image_id, disk_format, request.stream(),
                                         int(length) if length and length.isdigit() else None,
                                         runtime.settings.image.max_size_mb * 1024 * 1024, expected)
        except BaseException as exc:
            async with sessions() as session:
                await session.execute(update(Image).where(Image.id == image_id, Image.status == "saving")
                                      .values(status="queued"))
                await session.commit()
            if isinstance(exc, store.UploadRejected):
                raise ImageError(exc.status, exc.message) from None
            raise
        async with sessions() as session:
            done = await session.execute(
                update(Image).where(Image.id == image_id, Image.status == "saving").values(
                    status="active", size=stored.size, checksum=stored.md5, os_hash_algo=store.HASH_ALGO,
                    os_hash_value=stored.sha512))
            await session.commit()
            if not done.rowcount:  # deleted while the bytes were arriving
                store.remove(root, image_id)
                raise ImageError(410, f"Image {image_id} was deleted during the upload.")
            image = await session.get(Image, image_id)
            assert image is not None
            _sidecar(runtime, image)
        return Response(status_code=204)

    @app.get("/v2/images/{image_id}/file")
    async def download(request: Request, image_id: str) -> Response:
        who = await _caller(request)
        runtime = _runtime(request)
        async with runtime.require_api_db()() as session:
            image = await get_visible(session, image_id, who)
        if image.status != "active":
            return Response(status_code=204)  # Glance: an image without data has no content
        path = store.data_path(store.images_dir(runtime.settings.service.data_dir), image_id, image.disk_format)
        if not path.is_file():
            raise ImageError(410, f"The data of image {image_id} is missing from this host's image store.")
        return FileResponse(path, media_type="application/octet-stream",
                            headers={"Content-MD5": image.checksum or ""})


def build_image_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="novalite Image API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime

    @app.exception_handler(ImageError)
    async def _image_error(_: Request, exc: ImageError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return error_response(401, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "; ".join(str(e.get("msg")) for e in exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "The resource could not be found." if exc.status_code == 404 else str(exc.detail)
        return error_response(exc.status_code, message)

    app.add_api_route("/", versions, methods=["GET"])
    app.add_api_route("/versions", versions, methods=["GET"])
    _install_image_routes(app)
    _install_data_routes(app)
    return app


def mount_image(app: FastAPI, runtime: Runtime) -> None:
    """Serve /image (the bare path too: clients discover from it without a slash)."""
    app.add_api_route("/image", versions, methods=["GET"], include_in_schema=False)
    app.mount("/image", build_image_app(runtime))
