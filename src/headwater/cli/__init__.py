"""The ``hw`` command line: Typer command groups over the SDK (``headwater.client``)."""
