"""Grading on an existing Dask distributed cluster.

Each submission becomes one task. The task runs on a Dask worker: the notebook goes through a sandboxed warm
`WorkerPool` on that worker's machine (one pool per worker process, started on first use and kept warm for
the next task), and the exercises are judged there, in the trusted Dask worker process, never in the
student's. Only plain data crosses the network both ways, and the client writes every output, so results
are identical to local grading.
"""
from __future__ import annotations

import atexit
import threading
from typing import Iterator

__all__ = ["SchedulerUnreachable", "check_scheduler", "grade_task", "run_on_dask"]

_POOLS: dict = {}
_JUDGES: dict = {}
_POOLS_LOCK = threading.Lock()


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler answers at the address given; the message names it."""


def check_scheduler(address: str, *, timeout: float = 3.0) -> None:
    """Raise `SchedulerUnreachable` within about `timeout` seconds unless a Dask scheduler answers at `address`
    ("tcp://host:port"): something must accept the connection, complete Dask's handshake and say it is a
    scheduler. distributed's own client waits 20 s and ends in a raw OSError where nothing listens, and where
    something else does (a web server, a silent port) it fails with a traceback or never returns."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise SchedulerUnreachable(f"--dask-scheduler {address!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SchedulerUnreachable(f"--dask-scheduler {address}: no Dask scheduler reachable "
                                   f"({exc.strerror or exc}); is `dask scheduler` running there?") from None
    what = _identify(f"{parts.scheme}://{host}:{port}", timeout)
    if what != "Scheduler":
        raise SchedulerUnreachable(
            f"--dask-scheduler {address}: something accepts connections there, but it is not a Dask scheduler "
            f"({what}); "
            "is this the address `dask scheduler` printed?")


def _identify(address: str, timeout: float) -> str:
    """What the Dask server at ``address`` says it is ("Scheduler", "Worker", ...), or in words why nothing
    there speaks Dask's protocol. Bounded by ``timeout`` however the other side behaves: the exchange runs
    on an event loop of its own in a daemon thread (the caller may be inside a running loop, a notebook's),
    and a side that never answers is left behind when the time is up."""
    import asyncio

    outcome: list[str] = []

    async def ask() -> str:
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await comm.read()
        finally:
            comm.abort()
        kind = reply.get("type") if isinstance(reply, dict) else None
        return kind if isinstance(kind, str) else "its reply is not a Dask server's identity"

    def run() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(ask(), timeout)))
        except (asyncio.TimeoutError, TimeoutError):
            outcome.append(f"no Dask handshake within {timeout:g} s")
        except Exception:  # noqa: BLE001 - whatever the other side sent, it is not Dask's protocol
            outcome.append("it does not speak Dask's protocol")

    thread = threading.Thread(target=run, name="dask-scheduler-check", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if not outcome:
        return f"no Dask handshake within {timeout:g} s"
    kind = outcome[0]
    return kind if kind == "Scheduler" else (f"a Dask {kind}" if kind in ("Worker", "Nanny") else kind)


def _close_pools() -> None:
    with _POOLS_LOCK:
        for pool in (*_POOLS.values(), *_JUDGES.values()):
            try:
                pool.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - best effort at interpreter exit
                pass
        _POOLS.clear()
        _JUDGES.clear()


def _worker_pool(sandbox: str, jobs: int, allow_unsandboxed: bool = False, preload: tuple[str, ...] = ()):
    from autodiff_course.grading.limits import Limits
    from autodiff_course.grading.pool import WorkerPool

    with _POOLS_LOCK:
        key = (sandbox, jobs, allow_unsandboxed, preload)
        pool = _POOLS.get(key)
        if pool is None:
            from autodiff_course.grading.judge_pool import BoundedJudge

            limits = Limits()
            pool = WorkerPool(jobs=jobs, sandbox=sandbox, limits=limits, allow_unsandboxed=allow_unsandboxed,
                              preload=preload)
            pool.__enter__()
            if not _POOLS:
                atexit.register(_close_pools)
            _POOLS[key] = pool
            _JUDGES[key] = BoundedJudge(jobs, limits)
        return pool, _JUDGES[key]


def grade_task(job: dict, specs: list[dict], present: list[str], sandbox: str, jobs: int = 1,
               allow_unsandboxed: bool = False, preload: tuple[str, ...] = ()) -> dict:
    """Runs on a Dask worker: sandboxed run of `job`, then judging within the notebook's budget (the same
    `BoundedJudge` as local grading). Returns {"run", "exercises"}. `preload` is what the course's own
    notebooks import (`batch.notebook_imports`): the Dask worker's warm pool imports it once, as a local one
    does, instead of every child importing it again."""
    pool, judge = _worker_pool(sandbox, jobs, allow_unsandboxed, tuple(preload))
    run = pool.run(job)
    return {"run": run, "exercises": judge.judge(specs, run, present=present)}


def run_on_dask(address: str, prepared: list, configs: dict, *, sandbox: str = "auto",
                allow_unsandboxed: bool = False, preload: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Yield (prepared, judged exercises, run) as the cluster at `address` finishes each submission.

    Raises OSError (from distributed) naming the address if the scheduler cannot be reached."""
    from distributed import Client, as_completed

    client = Client(address, set_as_default=False, timeout="20s")
    try:
        futures, items = [], {}
        for item in prepared:
            specs = configs[item.submission.assignment].exercises
            future = client.submit(grade_task, item.job, specs, sorted(item.present), sandbox, 1,
                                   allow_unsandboxed, tuple(preload), key=f"grade-{item.key}-{item.fingerprint[:12]}",
                                   pure=False, retries=1)
            futures.append(future)
            items[future.key] = item
        for future in as_completed(futures, loop=client.loop):
            item = items[future.key]
            try:
                payload = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost task is one error row, not a lost batch
                from autodiff_course.course.judging import judge_run
                from autodiff_course.grading.records import RunResult

                run = RunResult.failed(item.job, "crashed", f"grading task failed on the Dask cluster: "
                                                            f"{type(exc).__name__}: {exc}", None).to_dict()
                payload = {"run": run, "exercises": judge_run(configs[item.submission.assignment].exercises,
                                                              run, present=item.present)}
            yield item, payload["exercises"], payload["run"]
            future.release()
    finally:
        client.close()

