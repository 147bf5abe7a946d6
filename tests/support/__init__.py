"""Helpers shared by tests (tests never import each other's modules for them)."""
