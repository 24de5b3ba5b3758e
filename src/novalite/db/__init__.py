"""Database plumbing shared by every database kind (API, cell, placement)."""
