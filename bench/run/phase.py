"""What a running cell is doing now (data, train, predict...), for the matrix progress display.

``run_cell`` calls :func:`phase`; whoever runs it may :func:`listen` (one listener per process).
"""

from __future__ import annotations

from collections.abc import Callable

_listener: Callable[[str], None] | None = None


def phase(name: str) -> None:
    if _listener is not None:
        _listener(name)


def listen(fn: Callable[[str], None] | None) -> None:
    global _listener
    _listener = fn
