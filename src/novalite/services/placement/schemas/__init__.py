"""Request bodies as pydantic models (strict, no extra keys), mirroring Placement's JSON schemas."""
