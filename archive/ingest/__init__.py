"""Ingest: normalise -> passages -> fingerprint -> plan -> embed -> write, run as an in-order
pipeline (pipeline.py); follow.py polls feeds into it."""
