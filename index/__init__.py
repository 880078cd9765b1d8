"""Vectors: the embedding backends that make them (embedders/) and the FAISS indexes that
search them (vectors/), kept in step with the database by sync.py. Nothing here imports
archive/: the archive hands in what it stores."""
