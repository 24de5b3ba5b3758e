"""Per-database memo of name -> id for rows that are never deleted or renamed.

Projects, users, consumer types and the standard resource classes and traits only ever
gain rows, so a cached id can never go stale; keeping them off the claim and candidate
paths saves queries.
"""

from __future__ import annotations

import weakref

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_MEMO: "weakref.WeakKeyDictionary[object, dict[str, dict[str, int]]]" = weakref.WeakKeyDictionary()


def memo(session: AsyncSession | AsyncConnection, kind: str) -> dict[str, int]:
    if isinstance(session, AsyncConnection):
        engine = session.sync_engine
    else:
        engine = session.bind.sync_engine  # type: ignore[union-attr]
    per_db = _MEMO.setdefault(engine, {})
    return per_db.setdefault(kind, {})
