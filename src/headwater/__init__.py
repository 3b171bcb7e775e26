"""Headwater: a self-hosted MLOps platform."""

__version__ = "0.1.0"
