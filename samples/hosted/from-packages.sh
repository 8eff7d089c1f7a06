#!/usr/bin/env bash
# Builds and runs this sample as a consumer would: copied out of the repository (no Directory.Build.props, no
# project references), referencing only the Unjucks.* packages in <packages folder>, restored into a private
# package cache so nothing stale from ~/.nuget/packages is used. Prints the sample's output; exits non-zero if the
# build fails, the run fails, the greetings are not all there, or the session leaves files behind.
#
#     dotnet pack Unjucks.Perf.sln -c Release -o artifacts && bash samples/hosted/from-packages.sh artifacts
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packages="$(cd "${1:?usage: from-packages.sh <folder with the packed .nupkg files>}" && pwd)"
version="$(dotnet msbuild "$here/../../src/Unjucks.Agents.Hosting/Unjucks.Agents.Hosting.csproj" -getProperty:Version)"
[ -f "$packages/Unjucks.Agents.Hosting.$version.nupkg" ] || { echo "no Unjucks.Agents.Hosting.$version.nupkg in $packages: pack first"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/Unjucks.Samples.Hosted.csproj" "$here"/*.cs "$work/"
cat > "$work/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="unjucks-local" value="$packages" />
  </packageSources>
</configuration>
CONFIG
export NUGET_PACKAGES="$work/.nuget-packages"
dotnet build "$work/Unjucks.Samples.Hosted.csproj" -c Release -p:UnjucksPackageVersion="$version" -nologo -v q
# The build used the packages, not projects: the Unjucks assemblies came from the private cache.
[ -d "$NUGET_PACKAGES/unjucks.agents.hosting/$version" ] && [ -d "$NUGET_PACKAGES/unjucks.agents/$version" ] \
    || { echo "the sample did not restore the Unjucks packages $version"; exit 1; }

sessions="$work/sessions"
mkdir -m 700 "$sessions"
output="$(dotnet "$work/bin/Release/net10.0/hosted-sample.dll" --Agents:Agents=2 --Agents:Directory="$sessions" --Sample:Names=12)"
printf '%s\n' "$output"
grep -q '^12 greetings on [12] agent(s), 0 failed$' <<<"$output" || { echo "the sample did not greet all 12 names"; exit 1; }
for i in $(seq 0 11); do
    grep -q "^Hello, agent user $i! (agent pid [0-9]*, scope uses 1)\$" <<<"$output" || { echo "no greeting for user $i"; exit 1; }
done
[ -z "$(ls -A "$sessions")" ] || { echo "the session left files behind: $(ls -A "$sessions")"; exit 1; }
echo "the hosted sample ran from the packages ($version)"
