"""2D generators: inpainting with dynamic masking, image-to-video, CLIP scoring, user-supplied media."""
