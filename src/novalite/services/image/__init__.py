"""Image v2 subset (Glance's API shape): image records in the API database, bytes on disk."""
