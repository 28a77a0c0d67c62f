"""GenZI robust multi-view lifting of 2D keypoints to a 3D body in the scene."""
