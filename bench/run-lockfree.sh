#!/usr/bin/env bash
# Runs the lock-free benchmarks with a shortened job (3 warm-up and 8 measured iterations per case) and
# writes GitHub-markdown tables to BenchmarkDotNet.Artifacts/results/*-report-github.md, ready to paste
# into docs/performance.md. Each benchmark class runs in its own child process (BenchmarkDotNet's default
# toolchain; needs the .NET SDK). Environment:
#   UNJUCKS_BENCH_THREADS=1,2   thread counts (default 1,2,4,8,16; on this 2-core machine use 1,2)
#   BENCH_FILTER='*FetchAdd* *QueuePairs*'   globs (space-separated; default: every LockFree benchmark)
# Extra arguments go to BenchmarkDotNet, e.g. --inProcess (faster start, no child builds) or --job short.
# The published single file takes the same arguments: see docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -r -a filters <<<"${BENCH_FILTER:-Unjucks.Benchmarks.LockFree.*}"
dotnet run -c Release --project bench/Unjucks.Benchmarks -- \
    --filter "${filters[@]}" --warmupCount 3 --iterationCount 8 \
    --exporters github --artifacts BenchmarkDotNet.Artifacts "$@"
echo "Markdown tables: $(pwd)/BenchmarkDotNet.Artifacts/results/*-report-github.md"
