"""Choose the energy meters for a device (filled in by the energy issue)."""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def open_meters(device, choice: str = "auto") -> Iterator[list]:
    yield []
