#!/usr/bin/env bash
# Regenerates the Python code, gRPC stubs and typed stubs for every proto under protos/skillbridge.
# Output goes to protos/gen/python, laid out by proto package so `import skillbridge.scheduler.v1...` just works.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=protos/gen/python
rm -rf "$OUT/skillbridge"
mkdir -p "$OUT"
mapfile -t files < <(find protos/skillbridge -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc \
  -I protos -I third_party/googleapis \
  --plugin=protoc-gen-mypy="$(dirname "$PY")/protoc-gen-mypy" \
  --plugin=protoc-gen-mypy_grpc="$(dirname "$PY")/protoc-gen-mypy_grpc" \
  --python_out="$OUT" --grpc_python_out="$OUT" \
  --mypy_out="$OUT" --mypy_grpc_out="$OUT" \
  "${files[@]}"
# Marker files so type checkers treat the generated tree as typed packages.
find "$OUT/skillbridge" -type d -exec touch {}/py.typed \;
echo "generated ${#files[@]} protos into $OUT"
