"""What runs inside a task: workspace, command, streams, outputs (see README.md)."""
