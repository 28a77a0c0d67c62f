"""Results people can open: npz/JSON, GLB scene+human, animated glTF, mp4, contact sheets, HTML report."""
