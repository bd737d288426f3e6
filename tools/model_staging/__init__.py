"""Staging model weights into the model bucket: sources, manifest, upload, check, delete.

Library code: it never prints (progress goes through callbacks) and raises `StagingError`s.
"""
