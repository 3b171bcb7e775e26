"""Where tasks run: the ``Executor`` protocol and its backends (see README.md)."""
