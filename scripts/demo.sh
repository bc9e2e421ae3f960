#!/usr/bin/env bash
# Sets up, builds (release) and runs Chakong's main job: a simulated year of a district court
# (scenarios/district.yaml) in virtual time, printing the summary and writing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release
bin=build/release/apps/chakong/chakong
out=${CHAKONG_DEMO_OUT:-out/district}

echo
"$bin" simulate scenarios/district.yaml --out "$out"
echo
echo "Open $out/report.html in a browser for the charts; $out/report.json has every figure."
echo "More: '$bin simulate scenarios/outage.yaml' (a bank down for 30 hours),"
echo "      '$bin conformance' (the connector conformance kit), '$bin check --help'."
