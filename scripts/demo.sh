#!/usr/bin/env bash
# Sets up, builds (release) and runs Chakong's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh release
bin=build/release/apps/chakong/chakong

echo "== chakong check id: debtor identifiers (GB 11643, GB 32100)"
"$bin" check id 11010519491231002X 91350100M000100Y43 91350100M000100Y44 || true
echo
echo "== chakong check case: case numbers and the 执恢 number of a restored case"
"$bin" check case '（2024）渝0110执1234号' '(2025)京0105执保88号'
echo
echo "== chakong check deadline: query timeliness and measure terms on the official calendar"
"$bin" check deadline --received 2024-02-08
