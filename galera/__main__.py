"""``python -m galera``: the same as the ``galeractl`` command."""

from galera.cli.main import main

main()
