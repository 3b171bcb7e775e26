"""Telling people and systems what happened: email, Slack, webhooks (see README.md)."""
