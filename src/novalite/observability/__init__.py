"""Operating novalite: Prometheus metrics, health and readiness endpoints."""
