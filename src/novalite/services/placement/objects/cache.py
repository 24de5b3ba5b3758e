"""Per-database memo of name -> id for rows that are never deleted or renamed.

Projects, users, consumer types and the standard resource classes only ever gain rows,
so a cached id can never go stale; keeping them off the claim path saves queries.
"""

from __future__ import annotations

import weakref

from sqlalchemy.ext.asyncio import AsyncSession

_MEMO: "weakref.WeakKeyDictionary[object, dict[str, dict[str, int]]]" = weakref.WeakKeyDictionary()


def memo(session: AsyncSession, kind: str) -> dict[str, int]:
    per_db = _MEMO.setdefault(session.bind.sync_engine, {})  # type: ignore[union-attr]
    return per_db.setdefault(kind, {})
