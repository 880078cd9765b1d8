"""Vectors: the embedding model that makes them and the FAISS index that searches them."""
