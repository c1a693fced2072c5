"""How many threads the numeric libraries of one process may use.

Every stage service runs beside three others and a scheduler on a small machine, and each takes requests of
many jobs at once. A math library that spreads one small matrix product over every core (OpenBLAS under numpy,
OpenMP under torch) then has its threads spin against the other processes' threads: measured on 2 busy cores, a
600x288x288 product took 24 ms with OpenBLAS's default two threads against 4 ms with one. Concurrency comes
from the requests, so each process keeps its libraries to `compute_threads` (CommonSettings) threads.
"""

from __future__ import annotations

import logging
import sys

from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)


def limit_threads(threads: int) -> None:
    """Caps the BLAS and OpenMP pools loaded in this process, and torch's intra-op pool when torch is loaded,
    at `threads` (0 leaves every library at its default). Pools loaded later keep their defaults, so a
    service calls this once its models are loaded."""
    if threads <= 0:
        return
    threadpool_limits(limits=threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    log.debug("numeric libraries limited to %d thread(s)", threads)
