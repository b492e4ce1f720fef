"""Embeddings: media resolution, frame sampling, the open_clip encoder, the on-disk cache and the FAISS index.

Nothing here is imported by `import taxospec`: torch, open_clip, faiss and PyAV load only when an
embedding check runs.
"""
