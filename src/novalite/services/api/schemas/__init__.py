"""Request bodies of the Compute API, as pydantic models (unknown fields are refused)."""
