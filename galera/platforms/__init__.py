"""Platforms: thin adapters that list members, start/stop them and cut their network."""
