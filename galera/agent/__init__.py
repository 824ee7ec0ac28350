"""The node agent: one per member, supervises mariadbd and serves a small JSON HTTP API."""
