"""Loss-weight and learning-rate schedules: phases with linear ramps between knots (GenZI §6.4).

A weight is given as P+1 knots ``[a_0 .. a_P]`` for P phases of ``phase_iters`` iterations.
During phase p, at local step s ∈ [0, phase_iters), the weight is

    a_p + (a_{p+1} − a_p) · s / phase_iters,

so the last knot a_P is approached but never reached. A learning rate is one constant per phase.
Iterations past the last phase keep the last phase's value at its final step (this only happens
when someone asks for it; the fit runs exactly P · phase_iters steps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def knot_weight(knots: Sequence[float], it: int, phase_iters: int) -> float:
    """The scheduled weight at iteration ``it`` (0-based)."""
    k = np.asarray(knots, dtype=np.float64)
    if k.ndim != 1 or len(k) < 2:
        raise ValueError(f"a weight schedule needs at least 2 knots, got {list(knots)}")
    if phase_iters <= 0:
        raise ValueError(f"phase_iters must be positive, got {phase_iters}")
    num_phases = len(k) - 1
    p = min(it // phase_iters, num_phases - 1)
    s = min(it - p * phase_iters, phase_iters - 1)
    return float(k[p] + (k[p + 1] - k[p]) * s / phase_iters)


def knot_table(knots: Sequence[float], phase_iters: int) -> np.ndarray:
    """(P · phase_iters,) float64: :func:`knot_weight` at every iteration, vectorised."""
    k = np.asarray(knots, dtype=np.float64)
    if k.ndim != 1 or len(k) < 2:
        raise ValueError(f"a weight schedule needs at least 2 knots, got {list(knots)}")
    num_phases = len(k) - 1
    s = np.arange(phase_iters, dtype=np.float64) / phase_iters
    return np.concatenate([k[p] + (k[p + 1] - k[p]) * s for p in range(num_phases)])


def phase_table(values: Sequence[float], phase_iters: int) -> np.ndarray:
    """(P · phase_iters,) float64: one constant per phase (learning rates)."""
    v = np.asarray(values, dtype=np.float64)
    return np.repeat(v, phase_iters)


def phase_of(it: int, phase_iters: int, num_phases: int) -> int:
    """The phase index of iteration ``it``."""
    return min(it // phase_iters, num_phases - 1)
