"""The scheduler loop, recovery after restart, and notifications (see README.md)."""
