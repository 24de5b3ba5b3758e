"""The OpenStack Compute API v2.1, and the HTTP front door that mounts every API."""
