"""Byte backends: ``local`` (a folder) and ``memory`` (the fake for tests)."""
