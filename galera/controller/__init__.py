"""The controller: gathers snapshots, asks the domain for decisions, performs one step."""
