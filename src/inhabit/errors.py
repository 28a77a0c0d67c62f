"""User-facing errors.

An :class:`InhabitError` carries one clear sentence naming the file or field at fault and what was
expected. The command line prints that sentence and exits with status 2, without a traceback:
a user mistake is not a crash. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class InhabitError(Exception):
    """A problem the user can fix; ``str(err)`` is one sentence saying what and where."""


class InputError(InhabitError, ValueError):
    """Bad input: a missing or broken file, a field out of range, a point outside the scene."""


class MissingWeightsError(InhabitError, FileNotFoundError):
    """A learned component's weights are not available: names the model ID, where it was looked
    for and how to provide it."""


class OptimizationError(InhabitError, RuntimeError):
    """An optimisation could not produce a finite result (e.g. every step had non-finite gradients)."""
