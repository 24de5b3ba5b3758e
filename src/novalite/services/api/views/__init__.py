"""Rendering resources as the Compute API shows them at a given microversion."""
