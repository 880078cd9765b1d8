"""The HTTP face: FastAPI routes over the same `Archive` object the CLI uses."""
