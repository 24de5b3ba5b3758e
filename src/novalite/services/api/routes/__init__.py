"""Compute API routes, one module per resource (HTTP only; logic lives in *_ops modules)."""
