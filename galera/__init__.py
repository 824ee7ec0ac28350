"""galeractl: run MariaDB Galera clusters safely."""

__version__ = "0.1.0"
