#!/usr/bin/env bash
# Publishes the benchmarks as ONE self-contained linux-x64 executable, publish/bench/Unjucks.Benchmarks
# (git-ignored), that runs on a linux-x64 machine without .NET. Copy that one file to the machine and run:
#
#     ./Unjucks.Benchmarks --filter '*Queue*'                 # real measurements (default job)
#     ./Unjucks.Benchmarks --filter '*' --job short           # everything, shorter
#     ./Unjucks.Benchmarks --filter '*FetchAdd*' --job Dry    # smoke test
#
# As a single file it cannot build BenchmarkDotNet's per-benchmark child projects, so the program adds
# --inProcess by itself (HostDefaults.cs). Reports go to ./BenchmarkDotNet.Artifacts beside the caller.
#
# Why these settings:
#  - TrimMode=partial: trims only the framework's trimmable assemblies. A fully trimmed BenchmarkDotNet
#    crashes (it finds benchmarks, columns and diagnosers by reflection); partial trimming keeps it whole.
#  - EnableCompressionInSingleFile: without it the file is well over the 60 MiB the issue allows.
#  - IncludeNativeLibrariesForSelfExtract: the runtime's native libraries go inside the one file too.
#  - SuppressTrimAnalysisWarnings=true: the build treats warnings as errors, and the trimmer warns about
#    BenchmarkDotNet's (and the framework's) reflection. Only the trim-analysis warnings are silenced, and
#    only here, in the publish; the ordinary build keeps every warning an error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="publish/bench"
rm -rf "$out"
dotnet publish bench/Unjucks.Benchmarks -c Release -r linux-x64 -o "$out" \
    --self-contained true \
    -p:PublishSingleFile=true \
    -p:PublishTrimmed=true \
    -p:TrimMode=partial \
    -p:EnableCompressionInSingleFile=true \
    -p:IncludeNativeLibrariesForSelfExtract=true \
    -p:SuppressTrimAnalysisWarnings=true \
    -p:DebugType=none
# Left beside the executable but not needed by it: Windows-only tracing DLLs that BenchmarkDotNet's
# TraceEvent dependency ships (amd64/*.dll) and the LockFree XML docs. Removed so the folder is the one file.
rm -rf "$out/amd64" "$out"/*.xml
size=$(stat -c %s "$out/Unjucks.Benchmarks")
echo "published $out/Unjucks.Benchmarks: $((size / 1024 / 1024)) MiB ($size bytes)"
if [ "$size" -ge $((60 * 1024 * 1024)) ]; then
    echo "error: the published file is 60 MiB or more; the issue allows less" >&2
    exit 1
fi
