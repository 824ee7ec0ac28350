"""The pure domain model: positions, member status, snapshots, quorum and verdicts.

Nothing in this package does I/O. Functions take plain data (file text, rows of
``SHOW GLOBAL STATUS``, a snapshot) and return plain data with a human reason attached.
"""
