"""Scenes: load meshes (GLB/GLTF/OBJ/PLY) and Gaussian splats, bundled demo scenes, signed distance."""
