"""Run the async core from sync code: one implementation, thin sync wrappers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from typing import Awaitable, TypeVar

T = TypeVar("T")

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="guardagent-sync")
_LOCAL = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """One event loop per thread, reused: ``asyncio.run`` per call costs a loop's setup."""
    loop = getattr(_LOCAL, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOCAL.loop = loop
    return loop


def _run_here(awaitable: Awaitable[T]) -> T:
    loop = _thread_loop()
    ctx = contextvars.copy_context()  # the caller's LangGraph config and stream writer
    task = loop.create_task(_as_coro(awaitable), context=ctx)
    return loop.run_until_complete(task)


def run_sync(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` from synchronous code.

    With no loop running in this thread, the thread's own reusable loop runs it. Inside a
    running loop (a notebook, a sync API called from async code) the coroutine runs on a worker thread
    with a copy of the caller's context, so LangGraph's config and interrupt machinery
    (context variables) still see the current run.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(awaitable)
    ctx = contextvars.copy_context()
    return _POOL.submit(ctx.run, _run_here, awaitable).result()


async def _as_coro(awaitable: Awaitable[T]) -> T:
    return await awaitable

