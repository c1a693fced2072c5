# One image for every SkillBridge service; docker-compose.yml picks the process with `command`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TRANSFORMERS_VERBOSITY=error \
    HF_HUB_DISABLE_PROGRESS_BARS=1

WORKDIR /app

# torch first and on its own, from the CPU index: otherwise pip takes a multi-GB CUDA build (as `make install`).
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the code, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY scripts/link_source_roots.py scripts/link_source_roots.py
COPY services/__init__.py services/__init__.py
COPY gateway/__init__.py gateway/__init__.py
COPY clients/python/pyproject.toml clients/python/README.md clients/python/hatch_build.py clients/python/
COPY clients/python/skillbridge_client/__init__.py clients/python/skillbridge_client/__init__.py
COPY protos/gen/python protos/gen/python
# The client distribution (SDK + CLI) first: the server's depends on it.
RUN pip install -e ./clients/python \
    && pip install -e . --config-settings editable_mode=compat && python scripts/link_source_roots.py

COPY services services
COPY gateway gateway
COPY clients clients
COPY data data

# Bind every interface inside the container; compose wires the services by name.
ENV SKILLBRIDGE_HOST=0.0.0.0
# The retrieval service caches course vectors beside the catalog, so data/ is writable too.
RUN useradd --create-home --uid 10001 skillbridge && mkdir -p /app/var && chown -R skillbridge /app/var /app/data
USER skillbridge

CMD ["python", "-m", "services.scheduler"]
