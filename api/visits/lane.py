"""A lane that runs the jobs of one event loop a group at a time, on a worker thread.

Whole-visit batches are CPU work (parsing, checks, QC, re-encoding photos) and a short write. A
lane runs one group at a time: every job that arrived while the last group ran (up to
``max_group``), in one call of ``run`` on a worker thread. ``run`` can then share work between
the group's jobs, such as one read transaction and one write transaction for all of them; under
load that is most of what a transaction costs (SQLAlchemy's session and connection, SQLite's
commit and the pages it writes, which neighbouring rows share). A job that arrives while the
lane is idle runs at once, alone.

Each job gets its own outcome: ``run`` returns a result or an exception for each, in order, and
the job's caller gets that result or has that exception raised. If ``run`` itself fails, every
job of the group gets its exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio

J = TypeVar("J")
R = TypeVar("R")


class Lane(Generic[J, R]):
    """Jobs of one event loop, run in groups by ``run`` (on a worker thread), one group at a
    time. Made in the loop it serves."""

    def __init__(
        self, run: Callable[[list[J]], Sequence[R | BaseException]], *, max_group: int
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._run = run
        self.max_group = max_group
        self.loop = asyncio.get_running_loop()
        self._waiting: list[tuple[J, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.groups = 0  # groups run so far, and their jobs
        self.jobs = 0

    @property
    def waiting(self) -> int:
        """Jobs waiting for the next group."""
        return len(self._waiting)

    async def submit(self, job: J) -> R:
        """``job``'s result once its group has run (or its exception, raised)."""
        future: asyncio.Future[R] = self.loop.create_future()
        self._waiting.append((job, future))
        if self._runner is None:
            self._runner = self.loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                await self._run_group(group)
        finally:
            self._runner = None

    async def _run_group(self, group: list[tuple[J, asyncio.Future[R]]]) -> None:
        self.groups += 1
        self.jobs += len(group)
        try:
            outcomes = await anyio.to_thread.run_sync(self._run, [job for job, _ in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(group)} jobs")
        except Exception as err:  # the group's run failed: each job's caller hears of it
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        except BaseException:  # cancelled (shutdown): so are the group's callers
            for _, future in group:
                future.cancel()
            raise
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():  # its caller went away (cancelled)
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
