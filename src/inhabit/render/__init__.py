"""Rendering: meshes (RGB, depth, silhouette, face ids, human+scene composite) and Gaussian splatting."""
