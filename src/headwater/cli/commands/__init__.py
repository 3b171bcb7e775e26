"""One module per command group; each command parses, calls the SDK and renders."""
