"""Run the async core from sync code: one implementation, thin sync wrappers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from typing import Any, Awaitable, TypeVar

T = TypeVar("T")

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="guardagent-sync")


def run_sync(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` from synchronous code.

    With no loop running in this thread, ``asyncio.run`` is used. Inside a running loop
    (a notebook, a sync API called from async code) the coroutine runs on a worker thread
    with a copy of the caller's context, so LangGraph's config and interrupt machinery
    (context variables) still see the current run.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coro(awaitable))
    ctx = contextvars.copy_context()
    return _POOL.submit(ctx.run, asyncio.run, _as_coro(awaitable)).result()


async def _as_coro(awaitable: Awaitable[T]) -> T:
    return await awaitable


def maybe_await(value: Any) -> Any:
    """Resolve ``value`` if it is awaitable (for user hooks that may be sync or async)."""
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return run_sync(value)
    return value
