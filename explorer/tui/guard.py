"""``@guarded``: an event handler or action that fails shows a notification instead of ending the app.

Textual ends the app on an exception escaping a handler (and stops the widget's message loop), so
every handler and action of the TUI is wrapped: ExplorerError (a bad expression, unreadable memory)
becomes its one-line message; anything else, a bug, becomes "internal error: ..." and is kept in
``app.internal_errors`` for the tests to see.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _report(node: Any, err: Exception) -> None:
    app = node if hasattr(node, "internal_errors") else getattr(node, "app", None)
    report = getattr(app, "report", None)
    if report is None:
        raise err
    report(err)


def guarded(fn: F) -> F:
    """Wrap a handler (sync or async) so that its exceptions become notifications."""
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def awrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(self, *args, **kwargs)
            except Exception as e:
                _report(self, e)
                return None

        return awrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except Exception as e:
            _report(self, e)
            return None

    return wrapper  # type: ignore[return-value]
