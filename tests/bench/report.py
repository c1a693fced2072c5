"""Turns the run's records into the stdout table and docs/benchmarks.md: medians, ratios, targets met or missed."""

from __future__ import annotations

import math
from typing import Any

QUEUE_FIGURES = (
    ("enqueue_jobs_per_s", "enqueue jobs/s", "{:,.0f}"),
    ("submit_p50_ms", "submit p50 ms", "{:.2f}"),
    ("submit_p99_ms", "submit p99 ms", "{:.2f}"),
    ("drain_jobs_per_s", "drain jobs/s", "{:,.0f}"),
    ("roundtrip_p50_ms", "p50 ms", "{:.1f}"),
    ("roundtrip_p99_ms", "p99 ms", "{:.1f}"),
    ("bytes_per_job", "bytes/job", "{:,.0f}"),
)


def value(records: list[dict[str, Any]], system: str, figure: str) -> float:
    for r in records:
        if r["system"] == system and r["figure"] == figure:
            return float(r["value"])
    return float("nan")


def fmt(x: float, pattern: str = "{:,.1f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else pattern.format(x)


def queue_systems(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for r in records:
        if r["group"] == "queue":
            seen.setdefault(r["system"], r.get("label", r["system"]))
    return list(seen.items())


def targets(records: list[dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, compared with, met) rows; met is None when a figure is missing."""
    anchors = [s for s, _ in queue_systems(records) if not s.startswith("skillbridge")]
    ours = [s for s, _ in queue_systems(records) if s.startswith("skillbridge")]
    best_drain = max((value(records, s, "drain_jobs_per_s") for s in anchors), default=float("nan"), key=_nan_low)
    saq_p50 = min((value(records, s, "roundtrip_p50_ms") for s in anchors if s.startswith("saq")), default=math.nan)
    dramatiq_bytes = value(records, "dramatiq", "bytes_per_job")
    rows: list[tuple[str, str, str, bool | None]] = []
    for s in ours:
        drain = value(records, s, "drain_jobs_per_s")
        rows.append(
            (
                f"{s}: drain >= 1.2x best anchor",
                fmt(drain, "{:,.0f}/s"),
                fmt(best_drain, "{:,.0f}/s"),
                _met(drain, 1.2 * best_drain, higher=True),
            )
        )
        p50 = value(records, s, "roundtrip_p50_ms")
        rows.append(
            (
                f"{s}: submit->result p50 <= saq's",
                fmt(p50, "{:.2f} ms"),
                fmt(saq_p50, "{:.2f} ms"),
                _met(p50, saq_p50, higher=False),
            )
        )
        size = value(records, s, "bytes_per_job")
        rows.append(
            (
                f"{s}: bytes/job <= Dramatiq's",
                fmt(size, "{:,.0f} B"),
                fmt(dramatiq_bytes, "{:,.0f} B"),
                _met(size, dramatiq_bytes, higher=False),
            )
        )
    ml_p50 = value(records, "skillbridge-ml", "ml_job_p50_ms")
    rows.append(("one full ML job p50 <= 0.5 s", fmt(ml_p50, "{:.0f} ms"), "500 ms", _met(ml_p50, 500, higher=False)))
    rate = value(records, "skillbridge-ml", "ml_jobs_per_s_16_submitters")
    rows.append((">= 10 ML jobs/s with 16 submitters", fmt(rate, "{:.1f}/s"), "10/s", _met(rate, 10, higher=True)))
    p99 = value(records, "skillbridge-fanout", "fanout_p99_ms")
    rows.append(("fan-out p99 <= 50 ms", fmt(p99, "{:.1f} ms"), "50 ms", _met(p99, 50, higher=False)))
    return rows


def _nan_low(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _met(measured: float, bound: float, *, higher: bool) -> bool | None:
    if math.isnan(measured) or math.isnan(bound):
        return None
    return measured >= bound if higher else measured <= bound


def verdict(met: bool | None) -> str:
    return {True: "met", False: "missed", None: "not measured"}[met]


def queue_table(records: list[dict[str, Any]]) -> list[str]:
    base = "celery"
    head = "| queue (config) | " + " | ".join(h for _, h, _ in QUEUE_FIGURES) + " | drain vs Celery | p50 vs saq |"
    lines = [head, "|" + "---|" * (len(QUEUE_FIGURES) + 3)]
    saq = value(records, "saq", "roundtrip_p50_ms")
    for system, label in queue_systems(records):
        cells = [fmt(value(records, system, f), p) for f, _, p in QUEUE_FIGURES]
        drain_ratio = value(records, system, "drain_jobs_per_s") / value(records, base, "drain_jobs_per_s")
        p50_ratio = value(records, system, "roundtrip_p50_ms") / saq
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {fmt(drain_ratio, '{:.2f}')} | {fmt(p50_ratio, '{:.2f}')} |"
        )
    return lines


def other_table(records: list[dict[str, Any]], group: str) -> list[str]:
    lines = ["| figure | median | runs |", "|---|---|---|"]
    for r in records:
        if r["group"] == group:
            runs = ", ".join(fmt(v, "{:,.1f}") for v in r["runs"])
            name = f"{r['figure']} ({r['unit']})" if r["unit"] else r["figure"]
            lines.append(f"| {name} | {fmt(r['value'], '{:,.1f}')} | {runs} |")
    return lines


def stdout_table(records: list[dict[str, Any]], unavailable: list[str]) -> str:
    lines = [*queue_table(records), "", *other_table(records, "ceiling"), "", *other_table(records, "ml"), ""]
    lines += [f"{t}: {m} (vs {c}) -> {verdict(ok)}" for t, m, c, ok in targets(records)]
    lines += [f"not available: {u}" for u in unavailable]
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    records, meta = doc["records"], doc["meta"]
    versions = " · ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        "# Benchmarks: SkillBridge next to the queues users would pick instead",
        "",
        "Written by `python -m tests.bench.run` (`make bench`); every figure below was measured in that run and",
        "the raw samples are in its JSON file. Re-run it rather than editing this page.",
        "",
        f"Run: {meta['date']} · median of {meta['repeat']} interleaved run(s) · size {meta['size']:,} jobs ·"
        f" {meta['roundtrips']} round trips · host with {meta['cpus']} CPU(s), shared: absolute figures move by up to"
        " 2x between runs; ratios from one run are what to compare.",
        "",
        f"Versions: {versions}",
        "",
        "## Targets",
        "",
        "| target | measured | compared with | verdict |",
        "|---|---|---|---|",
        *[f"| {t} | {m} | {c} | {verdict(ok)} |" for t, m, c, ok in targets(records)],
        "",
        "## Queues: the no-op job",
        "",
        "(a) one client enqueues jobs one call at a time (1 KB argument); (d) Redis `used_memory` delta (SQLite: file",
        "growth) per queued job; (b) one worker process drains them, rate measured from outside from the first",
        "completed job; (c) jobs one at a time from submit until the result is visible through the library's own",
        "wait API (SkillBridge: SubmitJob then WatchJob to the terminal event), warm worker.",
        f"SkillBridge's dispatcher runs {meta['concurrency']} jobs at a time; Redis replicas drain together.",
        "",
        *queue_table(records),
        "",
        "## Raw ceilings, same run",
        "",
        f"Redis figures come from {meta.get('redis_tool', 'n/a')}.",
        "",
        *other_table(records, "ceiling"),
        "",
        "## ML pipeline (embedded default: four stage services + scheduler, separate processes)",
        "",
        f"Scheduler dispatcher concurrency {meta['ml_concurrency']}; fan-out: {meta['streams']} WatchJob streams from",
        "one client process over 8 channels; latency = receipt time - JobEvent.time.",
        "",
        *other_table(records, "ml"),
        "",
    ]
    if doc["unavailable"]:
        lines += ["## Not measured in this run", "", *[f"- {u}" for u in doc["unavailable"]], ""]
    return "\n".join(lines)
