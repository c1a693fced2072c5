"""Smoke test of `make bench`'s SkillBridge parts at a tiny size: the figures come out, parse and are positive.

It never asserts speed (the machine is shared); the anchors' virtualenv is not installed here.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from tests.bench import ceilings, fanout, queue_bench, report
from tests.bench.common import cpu_seconds
from tests.bench.run import Collector


def positive(figures: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert isinstance(figures[key], float | int), key
        assert math.isfinite(figures[key]) and figures[key] > 0, (key, figures[key])


def test_noop_queue_figures_on_sqlite() -> None:
    figures = queue_bench.run("sqlite", size=30, roundtrips=5, concurrency=4)
    positive(figures, "enqueue_jobs_per_s", "drain_jobs_per_s", "roundtrip_p50_ms", "roundtrip_p99_ms")
    positive(figures, "bytes_per_job")
    assert figures["drained"] == figures["expected"] == 31
    assert len(figures["samples_roundtrip_ms"]) == 5
    assert figures["roundtrip_p99_ms"] >= figures["roundtrip_p50_ms"]
    collector = Collector()
    collector.attempt("queue", "skillbridge-sqlite", "SkillBridge (SQLite)", lambda: figures)
    collector.attempt(
        "queue", "anchor", "an anchor", lambda: {"enqueue_jobs_per_s": 1.0, "samples_enqueue_ms": [1, 2, 3]}
    )
    by_figure = {(r["system"], r["figure"]): r["value"] for r in collector.records()}
    assert by_figure["skillbridge-sqlite", "submit_p50_ms"] > 0
    assert by_figure["skillbridge-sqlite", "submit_p99_ms"] >= by_figure["skillbridge-sqlite", "submit_p50_ms"]
    assert by_figure["anchor", "submit_p50_ms"] == 2  # from the anchor's per-enqueue samples
    assert "submit p50 ms" in report.queue_table(collector.records())[0]


def test_noop_fanout_counts_every_live_event() -> None:
    figures = fanout.run_noop(streams=20, jobs=2, concurrency=4)
    assert figures["fanout_noop_streams_completed"] == 20 and figures["fanout_noop_errors"] == []
    # Every stream is open before its job starts: released, started and succeeded all arrive live.
    assert figures["fanout_noop_events_counted"] == len(figures["samples_fanout_noop_ms"]) == 60
    positive(figures, "fanout_noop_p50_ms", "fanout_noop_p99_ms")


def test_ceilings_and_report_round_trip(tmp_path: Any) -> None:
    figures = {**ceilings.grpc_ceilings(50), **ceilings.sqlite_ceilings(50)}
    positive(
        figures,
        "grpc_unary_sequential_calls_per_s",
        "grpc_unary_64_in_flight_calls_per_s",
        "grpc_server_streaming_msgs_per_s",
        "grpc_fanout_burst_p50_ms",
        "grpc_fanout_burst_p99_ms",
        "grpc_fanout_burst_sent_p99_ms",
        "sqlite_commits_per_s_normal",
        "sqlite_commits_per_s_full",
    )
    collector = Collector()
    collector.attempt("ceiling", "ceilings", "raw ceilings", lambda: figures)
    collector.attempt("queue", "broken", "a failing system", lambda: {"available": False, "why": "on purpose"})
    records = collector.records()
    assert {r["figure"] for r in records} >= {"grpc_unary_p50_ms", "sqlite_commits_per_s_full"}
    assert figures["grpc_fanout_burst_messages"] == ceilings.FANOUT_STREAMS * ceilings.FANOUT_MESSAGES
    # Each message is sent after its event happened: timed from the event, no message arrives sooner.
    assert figures["grpc_fanout_burst_p50_ms"] >= figures["grpc_fanout_burst_sent_p50_ms"]
    assert "a failing system" in collector.unavailable
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"records": records}))
    parsed = json.loads(out.read_text())["records"]
    assert all(r["value"] > 0 for r in parsed if r["figure"].endswith("_per_s"))
    table = report.stdout_table(records, ["a failing system: on purpose"])
    assert "sqlite_commits_per_s_normal" in table and "not measured" in table


def test_cpu_seconds_counts_this_process_work_as_the_kernel_does() -> None:
    before, own_before = cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - own_before < 0.2:
        sum(range(10_000))
    spent, own = cpu_seconds(os.getpid()) - before, time.process_time() - own_before
    # /proc counts in clock ticks (10 ms here), process_time more finely: they agree to a few ticks.
    assert abs(spent - own) < 0.05, (spent, own)
