#!/usr/bin/env bash
# Runs every benchmark exactly once in BenchmarkDotNet's Dry job, in-process (no child builds), so CI
# notices a benchmark that throws, fails its item-count check, hangs (WorkerPool's 2-minute guard) or no
# longer compiles. Measures nothing. Exits non-zero when any benchmark failed or none ran (Program.cs).
# Takes a few seconds after the build on 2 cores. Extra arguments are passed on (not another --filter:
# BenchmarkDotNet rejects a repeated option, and the run then fails as "no benchmark ran").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No exporter is asked for; BenchmarkDotNet still writes its default reports, into a temporary folder that is
# removed afterwards (a dry run measures nothing worth keeping).
artifacts="$(mktemp -d "${TMPDIR:-/tmp}/unjucks-bench-dry.XXXXXX")"
trap 'rm -rf "$artifacts"' EXIT
dotnet run -c Release --project bench/Unjucks.Benchmarks -- \
    --filter '*' --job Dry --inProcess --artifacts "$artifacts" "$@"
