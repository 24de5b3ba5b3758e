"""Placement's data access and domain rules: plain async functions over an AsyncSession.

Nothing here imports FastAPI; the HTTP handlers and the in-process client share it.
"""
