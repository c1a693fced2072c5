# The front door. `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: all install install-browser gen gen-check lint typecheck test fuzz course-vectors bench bench-full chaos eval agreement run up check clean load

all: check

install: $(VENV)/.installed

# torch is installed first and on its own: pinned, pip takes the CPU wheel instead of a multi-GB CUDA build.
# The client distribution (SDK + CLI, clients/python) before the server, which depends on it.
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install -q --disable-pip-version-check -e clients/python
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	$(PY) scripts/link_source_roots.py
	touch $@

# Chromium for the browser tests of the web page (Debian's package; skipped when already there).
install-browser:
	scripts/install_browser.sh

gen: install
	PY=$(PY) scripts/gen_protos.sh

# Fails when the checked-in generated code differs from what `make gen` produces.
gen-check: gen
	git add -N protos/gen
	git diff --exit-code --stat -- protos/gen

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code

typecheck: install
	$(BIN)/mypy

test: install install-browser course-vectors
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Hostile input with larger budgets than `make test`: the property-based REST tests (FUZZ_EXAMPLES examples per
# operation), gRPC SubmitJob with arbitrary field values (ten times as many) and FUZZ_FILES mutated uploads
# (default 20,000, about six minutes here) with another seed than the suite's.
FUZZ_EXAMPLES ?= 500
fuzz: install
	SKILLBRIDGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q --timeout 3600 tests/gateway/test_api_fuzz.py
	SKILLBRIDGE_FUZZ_EXAMPLES=$$(( $(FUZZ_EXAMPLES) * 10 )) $(BIN)/pytest -q --timeout 3600 tests/scheduler/test_submit_fuzz.py
	FUZZ_FILES=$${FUZZ_FILES:-20000} FUZZ_SEED=$${FUZZ_SEED:-11} $(BIN)/pytest -q -s --timeout=0 tests/gateway/test_upload_fuzz.py

# Embeds the bundled course catalog and the vocabulary's skill names once (cached beside them, git-ignored), so no
# test or benchmark pays for it at service start.
course-vectors: install
	$(PY) data/tools/warm_course_vectors.py

# Side by side in one run: SkillBridge (SQLite, Redis x1, x2) against Celery, RQ, arq, Dramatiq and saq
# (installed into .bench-venv, never into the project), raw ceilings, the ML pipeline and status fan-out.
# Prints a table, writes bench-results.json and rewrites docs/benchmarks.md. About 15 minutes.
bench: install course-vectors
	$(PY) -m tests.bench.run --out bench-results.json

bench-full: install course-vectors
	$(PY) -m tests.bench.run --out bench-results.json --repeat 3

# Full-size chaos with real models: each stage service killed with SIGKILL mid-run (50 analyses queued) and
# restarted, on SQLite and on Redis (two scheduler replicas); one kept down past a short outage budget; a
# replica's SIGTERM drain under watchers. Prints the figures and writes chaos-results.json. About 10 minutes.
chaos: install
	$(PY) -m tests.chaos.run --out chaos-results.json

# Full-size load on the Redis store: 1,000 WatchJob streams and 500 SSE watchers through the gateway on one
# scheduler replica, 20 submitters posting through the gateway meanwhile (tests/load/run.py). Needs Redis at
# REDIS_URL. Prints errors, peak Redis connections (the replica's, and INFO clients), RSS before/after, and
# writes load-results.json; exits non-zero on any error. ARGS="--streams 300 --sse 100" for other sizes.
load: install
	$(PY) -m tests.load.run --out load-results.json $(ARGS)

# Skill-gap figures on the labelled pairs of tests/data/eval (dev split by default; tune on dev only).
# ARGS="--split test" (or holdout, run once a round), "--verbose", "--sweep", "--json figures.json": see
# tests/eval/skill_eval.py.
eval: install
	$(PY) -m tests.eval.skill_eval $(ARGS)

# How far two careful readers agree with the gold labels, scored as the system is, beside the system on the same
# 16 dev pairs (tests/eval/agreement.py).
agreement: install
	$(PY) -m tests.eval.agreement --system

run: install
	$(BIN)/skillbridge up --demo

up: install
	$(BIN)/skillbridge up

check: lint typecheck test gen-check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
