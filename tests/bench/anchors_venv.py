"""The anchor queues' own virtualenv (`.bench-venv/`, never the project's), created or updated from PyPI with pip,
and the runner that calls tests/bench/anchors/harness.py with its python, one library variant at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from services.common.settings import REPO_ROOT

VENV = REPO_ROOT / ".bench-venv"
HARNESS = Path(__file__).resolve().parent / "anchors" / "harness.py"
REQUIREMENTS = (
    "celery==5.7.0",
    "rq==3.0.0",
    "arq==0.25.0",
    "dramatiq[redis]==2.2.1",
    "saq==0.26.4",
    "redis==8.1.0",
    "hiredis==3.5.0",
    "packaging==26.4",  # kombu's Redis transport imports it without declaring it
)
# (library, variant): the configurations of BENCHMARK-ANCHORS.md that the issue asks for.
VARIANTS = (
    ("celery", "default"),
    ("rq", "default"),
    ("arq", "default"),
    ("arq", "poll10ms"),
    ("dramatiq", "default"),
    ("saq", "default"),
    ("saq", "listener"),
)
LIBRARIES = ("celery", "kombu", "rq", "arq", "dramatiq", "saq", "redis", "hiredis")


def python() -> Path:
    return VENV / "bin" / "python"


def ensure() -> Path:
    """Creates the virtualenv on first use; reinstalls when the pinned requirements change."""
    stamp = VENV / ".requirements"
    wanted = "\n".join(REQUIREMENTS)
    if python().exists() and stamp.exists() and stamp.read_text() == wanted:
        return python()
    if not python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS]
    subprocess.run(pip, check=True, timeout=900)
    stamp.write_text(wanted)
    return python()


def versions() -> dict[str, str]:
    code = (
        f"import importlib.metadata as m, json, sys;print(json.dumps({{p: m.version(p) for p in {list(LIBRARIES)!r}}}))"
    )
    out = subprocess.run([str(python()), "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(out.stdout))


def run_variant(lib: str, variant: str, url: str, size: int, roundtrips: int) -> dict[str, Any]:
    """One library variant through the harness; its one JSON line, or a record of the failure."""
    argv = [str(python()), str(HARNESS), "run", "--lib", lib, "--variant", variant, "--size", str(size)]
    argv += ["--roundtrips", str(roundtrips)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["BENCH_REDIS_URL"] = url
    try:
        out = subprocess.run(argv, cwd=HARNESS.parent, env=env, capture_output=True, text=True, timeout=400)
    except subprocess.TimeoutExpired:
        return {"system": lib, "variant": variant, "available": False, "why": "harness timed out (400 s)"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        why = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"system": lib, "variant": variant, "available": False, "why": why}
    return {**json.loads(lines[-1]), "available": True}
