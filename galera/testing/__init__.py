"""Reusable test utilities that talk to real clusters (a continuous writer, a checker)."""
