"""A lane runs the jobs that arrive while it is busy as one group, each with its own outcome
(api/visits/lane.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from api.visits.lane import Lane

T = TypeVar("T")


class Recorder:
    """A group runner that records its groups and can be held inside the first one."""

    def __init__(self, answer: Callable[[int], int | Exception] = lambda job: job * 10) -> None:
        self.groups: list[list[int]] = []
        self.answer = answer
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, jobs: list[int]) -> Sequence[int | BaseException]:
        self.groups.append(jobs)
        self.entered.set()
        assert self.release.wait(10), "the test never released the group"
        return [self.answer(job) for job in jobs]


def run(test: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` in a thread of its own: another test (Playwright) may leave a loop running
    in this one."""

    async def bounded() -> T:
        return await asyncio.wait_for(test(), 20)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, bounded()).result(timeout=30)


async def held_then_queued(
    lane: Lane[int, int], recorder: Recorder, later: list[int]
) -> list[asyncio.Task[int]]:
    """Job 1 held in its group, then ``later`` queued behind it; the group released."""
    tasks = [asyncio.create_task(lane.submit(1))]
    await asyncio.to_thread(recorder.entered.wait, 10)
    tasks += [asyncio.create_task(lane.submit(job)) for job in later]
    while lane.waiting < len(later):
        await asyncio.sleep(0)
    recorder.release.set()
    await asyncio.wait(tasks)
    return tasks


def test_jobs_that_arrive_while_a_group_runs_are_the_next_group() -> None:
    recorder = Recorder()

    async def scenario() -> tuple[list[int], Lane[int, int]]:
        lane = Lane(recorder, max_group=16)
        tasks = await held_then_queued(lane, recorder, [2, 3, 4, 5])
        return [task.result() for task in tasks], lane

    results, lane = run(scenario)
    assert recorder.groups == [[1], [2, 3, 4, 5]]
    assert results == [10, 20, 30, 40, 50]
    assert (lane.groups, lane.jobs, lane.waiting) == (2, 5, 0)


def test_a_group_holds_at_most_max_group_jobs_in_their_order() -> None:
    recorder = Recorder()

    async def scenario() -> list[int]:
        lane = Lane(recorder, max_group=2)
        tasks = await held_then_queued(lane, recorder, [2, 3, 4, 5, 6])
        return [task.result() for task in tasks]

    assert run(scenario) == [10, 20, 30, 40, 50, 60]
    assert recorder.groups == [[1], [2, 3], [4, 5], [6]]


def test_each_job_gets_its_own_exception_and_the_others_their_results() -> None:
    recorder = Recorder(lambda job: ValueError(f"job {job}") if job % 2 else job * 10)

    async def scenario() -> list[asyncio.Task[int]]:
        lane = Lane(recorder, max_group=16)
        return await held_then_queued(lane, recorder, [2, 3, 4])

    tasks = run(scenario)
    assert [str(task.exception()) for task in tasks[::2]] == ["job 1", "job 3"]
    assert [task.result() for task in tasks[1::2]] == [20, 40]


def test_a_failed_run_fails_its_group_only() -> None:
    groups: list[list[int]] = []

    def flaky(jobs: list[int]) -> list[int]:
        groups.append(jobs)
        if len(groups) == 1:
            raise RuntimeError("the database went away")
        return [job * 10 for job in jobs]

    async def scenario() -> tuple[list[BaseException | None], int]:
        lane = Lane(flaky, max_group=16)
        first = await asyncio.gather(lane.submit(1), lane.submit(2), return_exceptions=True)
        return list(first), await lane.submit(3)

    first, later = run(scenario)
    assert [str(err) for err in first] == ["the database went away"] * 2
    assert later == 30
    assert groups == [[1, 2], [3]]


def test_a_caller_that_goes_away_leaves_the_group_running() -> None:
    recorder = Recorder()

    async def scenario() -> tuple[list[int], int]:
        lane = Lane(recorder, max_group=16)
        first = asyncio.create_task(lane.submit(1))
        await asyncio.to_thread(recorder.entered.wait, 10)
        gone = asyncio.create_task(lane.submit(2))
        stays = asyncio.create_task(lane.submit(3))
        while lane.waiting < 2:
            await asyncio.sleep(0)
        gone.cancel()
        recorder.release.set()
        return [await first, await stays], await lane.submit(4)

    results, later = run(scenario)
    assert results == [10, 30] and later == 40
    assert recorder.groups == [[1], [2, 3], [4]]  # job 2 ran; nobody was left to answer


def test_a_lane_needs_room_for_a_job() -> None:
    async def scenario() -> None:
        Lane(Recorder(), max_group=0)

    with pytest.raises(ValueError, match="max_group"):
        run(scenario)
