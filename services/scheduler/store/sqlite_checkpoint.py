"""Checkpoints of the SQLite store's write-ahead log, off the event loop.

SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold: that commit copies the log into
the database file and fsyncs it, on the event loop thread, and every call waiting behind it waits too (on a busy
host a drain ran about 40 % faster with it off). So the store turns it off and this thread does the same work on
a connection of its own: a PASSIVE checkpoint takes no lock a writer needs and never waits for one, and the
sqlite3 module releases the GIL while it runs. Durability is unchanged: with synchronous=NORMAL a commit is
never fsynced either way; the log is fsynced before its pages are copied, whichever thread copies them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

# A checkpoint after this many commits (SQLite's own default is 1,000 log pages; a job's commit writes a few),
# or after WAKE_SECONDS when fewer came.
COMMITS_PER_CHECKPOINT = 200
WAKE_SECONDS = 0.5
# The thread ends after this long without commits and starts again with the next one, so a store that is never
# closed (or one that is idle) holds no thread.
IDLE_EXIT_SECONDS = 5.0


class Checkpointer:
    """Folds the write-ahead log of one database file into it from a thread of its own."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._commits = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @staticmethod
    def disable_automatic(db: sqlite3.Connection) -> None:
        """Stops `db`'s commits from checkpointing on their own thread."""
        db.execute("PRAGMA wal_autocheckpoint=0")

    def committed(self) -> None:
        """Counts a commit of the store's connection; starts or wakes the thread when a checkpoint is due."""
        self._commits += 1
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                    self._thread.start()
        if self._commits >= COMMITS_PER_CHECKPOINT:
            self._wake.set()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            quiet_since = time.monotonic()
            while not self._closed:
                self._wake.wait(WAKE_SECONDS)
                self._wake.clear()
                if self._commits:
                    self._commits = 0
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > IDLE_EXIT_SECONDS:
                    with self._lock:
                        if not self._commits:
                            self._thread = None
                            return
        finally:
            db.close()

    def close(self) -> None:
        """Stops the thread (it closes its connection before the store closes its own, the last one, which then
        checkpoints whatever is left)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10.0)
