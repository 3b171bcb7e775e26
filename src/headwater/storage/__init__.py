"""Content-addressed storage over a small byte-backend protocol."""
