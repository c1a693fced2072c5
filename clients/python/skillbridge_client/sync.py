"""SchedulerClient: the blocking client of the JobScheduler API, for scripts and non-async code.

It has no logic of its own: every method is AsyncSchedulerClient's, run on a private event loop (see _runner),
so the two clients cannot drift apart. Callbacks (poll's `on_status`) run on that loop's thread."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from skillbridge_client._runner import LoopThread
from skillbridge_client.aio import AsyncSchedulerClient

P = ParamSpec("P")
R = TypeVar("R")


def _blocking(
    method: Callable[Concatenate[AsyncSchedulerClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SchedulerClient, P], R]:
    """The blocking face of one AsyncSchedulerClient coroutine method (same parameters, docs and errors)."""

    def call(self: SchedulerClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._runner.run(method(self._async, *args, **kwargs))

    functools.update_wrapper(call, method)  # its name and docstring, for help() and IDEs
    return call


def _blocking_iterator(
    method: Callable[Concatenate[AsyncSchedulerClient, P], AsyncGenerator[R, None]],
) -> Callable[Concatenate[SchedulerClient, P], Generator[R, None, None]]:
    """The blocking face of one AsyncSchedulerClient async-generator method: a plain generator."""

    def call(self: SchedulerClient, /, *args: P.args, **kwargs: P.kwargs) -> Generator[R, None, None]:
        return self._runner.iterate(method(self._async, *args, **kwargs))

    functools.update_wrapper(call, method)
    return call


class SchedulerClient:
    """The blocking twin of AsyncSchedulerClient: the same methods, parameters, results and errors.
    Use as a context manager or call close()."""

    def __init__(
        self,
        address: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        reconnect_attempts: int = 20,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._runner = LoopThread(name=f"skillbridge-client {address}")

        async def build() -> AsyncSchedulerClient:
            # grpc.aio binds a channel to the loop it is created on: create it on the runner's loop.
            return AsyncSchedulerClient(
                address, api_key=api_key, timeout=timeout, reconnect_attempts=reconnect_attempts
            )

        self._async = self._runner.run(build())

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel and stops the client's event loop."""
        try:
            self._runner.run(self._async.close())
        except RuntimeError:  # already closed
            return
        self._runner.close()

    submit = _blocking(AsyncSchedulerClient.submit)
    submit_analysis = _blocking(AsyncSchedulerClient.submit_analysis)
    submit_noop = _blocking(AsyncSchedulerClient.submit_noop)
    submit_jobs = _blocking(AsyncSchedulerClient.submit_jobs)
    get = _blocking(AsyncSchedulerClient.get)
    cancel = _blocking(AsyncSchedulerClient.cancel)
    list = _blocking(AsyncSchedulerClient.list)
    queue_status = _blocking(AsyncSchedulerClient.queue_status)
    wait = _blocking(AsyncSchedulerClient.wait)
    poll = _blocking(AsyncSchedulerClient.poll)
    watch = _blocking_iterator(AsyncSchedulerClient.watch)
    submit_and_watch = _blocking_iterator(AsyncSchedulerClient.submit_and_watch)
    iter_jobs = _blocking_iterator(AsyncSchedulerClient.iter_jobs)
