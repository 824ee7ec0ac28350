"""The ``galeractl`` command line: a thin client that parses, calls the controller, renders."""
