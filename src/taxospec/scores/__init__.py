"""Example scores computed from embeddings alone: label quality, outliers, duplicates, geometry.

No module here knows of checks, specs or reports: each takes arrays and returns arrays.
"""
