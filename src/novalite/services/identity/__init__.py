"""Identity v3 subset (Keystone's API shape) for labs without a Keystone."""
