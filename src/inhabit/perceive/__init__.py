"""2D perception: keypoint detection (BlazePose default) and person/foreground masks."""
