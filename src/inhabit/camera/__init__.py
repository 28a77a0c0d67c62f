"""Cameras: OpenCV pinhole, look-at, projection, candidate sampling and view selection."""
