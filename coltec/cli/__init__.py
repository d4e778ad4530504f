"""The command-line edge's helpers for tasks.py: invoke's program (argument shapes, usage
errors) and the rendering of every command's result."""
