"""ZeroHSI 4D reconstruction: camera tracking, per-frame human/object fitting, refinement."""
