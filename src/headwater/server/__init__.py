"""The composition root: settings, database, engine and routes wired into one FastAPI app."""

from headwater.server.app import create_app

__all__ = ["create_app"]
