"""inhabit: put people into any 3D scene from one sentence."""

__version__ = "0.1.0"
