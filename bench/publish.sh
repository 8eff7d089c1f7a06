#!/usr/bin/env bash
# Publishes the benchmarks as ONE self-contained linux-x64 executable, publish/bench/Unjucks.Benchmarks
# (git-ignored), that runs on a linux-x64 machine without .NET, plus the two helper programs that the
# cross-process benchmarks start (Unjucks.SharedMemory.TestAgent, Unjucks.AgentTestHost), self-contained too.
# Copy that one file (or the folder, for the cross-process benchmarks) to the machine and run:
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
single_file=(
    -c Release -r linux-x64 -o "$out"
    --self-contained true
    -p:PublishSingleFile=true
    -p:PublishTrimmed=true
    -p:TrimMode=partial
    -p:EnableCompressionInSingleFile=true
    -p:IncludeNativeLibrariesForSelfExtract=true
    -p:SuppressTrimAnalysisWarnings=true
    -p:DebugType=none
)
dotnet publish bench/Unjucks.Benchmarks "${single_file[@]}"
# The cross-process benchmarks start two helper programs; published the same way beside the benchmarks, they
# need no .NET either (HelperProcess runs <name> when there is no <name>.dll).
for helper in Unjucks.SharedMemory.TestAgent Unjucks.AgentTestHost; do
    dotnet publish "tests/$helper" "${single_file[@]}"
done
# Left beside the executables but not needed by them: Windows-only tracing DLLs that BenchmarkDotNet's
# TraceEvent dependency ships (amd64/, arm64/, x86/), XML docs and runtimeconfig files that the single files
# carry inside. Removed so the folder holds the three executables only.
rm -rf "$out/amd64" "$out/arm64" "$out/x86" "$out"/*.xml "$out"/*.runtimeconfig.json "$out"/*.pdb
size=$(stat -c %s "$out/Unjucks.Benchmarks")
echo "published $out/Unjucks.Benchmarks: $((size / 1024 / 1024)) MiB ($size bytes)"
for helper in Unjucks.SharedMemory.TestAgent Unjucks.AgentTestHost; do
    echo "published $out/$helper: $(( $(stat -c %s "$out/$helper") / 1024 / 1024 )) MiB (for the cross-process benchmarks)"
done
if [ "$size" -ge $((60 * 1024 * 1024)) ]; then
    echo "error: the published benchmarks file is 60 MiB or more; the issue allows less" >&2
    exit 1
fi
