"""Readiness: do this process's databases and bus answer, each within a bounded time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from novalite.runtime import Runtime


class Check(BaseModel):
    ok: bool
    error: str | None = None


class Readiness(BaseModel):
    status: str  # "ready" or "not ready"
    checks: dict[str, Check]
    failed: list[str]


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(work: Awaitable[Any], timeout: float) -> Check:
    try:
        async with asyncio.timeout(timeout):
            await work
    except TimeoutError:
        return Check(ok=False, error=f"no answer within {timeout:g}s")
    except Exception as exc:  # the reason is the answer: an operator reads it
        return Check(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    return Check(ok=True)


def _targets(runtime: "Runtime") -> dict[str, Awaitable[Any]]:
    targets: dict[str, Awaitable[Any]] = {}
    if runtime.api_engine is not None:
        targets["api_database"] = _select_one(runtime.api_engine)
    if runtime.cells is not None:
        for cell in runtime.cells.cells.values():
            targets[f"cell_database:{cell.name}"] = _select_one(runtime.cells.engine(cell.uuid))
    if runtime.placement_engine is not None:
        targets["placement_database"] = _select_one(runtime.placement_engine)
    targets["bus"] = runtime.bus.queue_depths()
    return targets


async def readiness(runtime: "Runtime", timeout: float) -> Readiness:
    """Every check runs at once, so the whole answer takes at most `timeout`."""
    targets = _targets(runtime)
    results = await asyncio.gather(*(_check(work, timeout) for work in targets.values()))
    checks = dict(zip(targets, results))
    failed = [name for name, check in checks.items() if not check.ok]
    return Readiness(status="not ready" if failed else "ready", checks=checks, failed=failed)
