"""Progress bars for long work (tqdm: ETA, works without a TTY, silent when disabled)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    return os.environ.get("INHABIT_PROGRESS", "1") not in ("0", "false", "no")


def track(iterable: Iterable[T], desc: str, total: int | None = None, leave: bool = False) -> Iterator[T]:
    """Iterate with a progress bar labelled ``desc`` (disabled by ``INHABIT_PROGRESS=0``)."""
    from tqdm.auto import tqdm

    yield from tqdm(iterable, desc=desc, total=total, leave=leave, disable=not progress_enabled(),
                    dynamic_ncols=True)


def bar(total: int, desc: str, leave: bool = False):
    """A manual progress bar (``with bar(n, "fit") as pb: pb.update(1)``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=leave, disable=not progress_enabled(), dynamic_ncols=True)
