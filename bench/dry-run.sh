#!/usr/bin/env bash
# Runs every benchmark exactly once in BenchmarkDotNet's Dry job, in-process (no child builds), so CI
# notices a benchmark that throws or no longer compiles. Measures nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet run -c Release --project bench/Unjucks.Benchmarks -- \
    --filter '*' --job Dry --inProcess --exporters none --artifacts "${TMPDIR:-/tmp}/unjucks-bench-dry" "$@"
