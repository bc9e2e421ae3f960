#!/usr/bin/env bash
# Installs Chakong's headers, builds examples/plugin_connector out of tree against them, and
# runs the conformance kit on the plugin, with the plugin's golden exchanges (message types of
# the plugin's own .proto, known once it is loaded). Usage: plugin_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/plugin_connector" -B "$work/b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/b" >/dev/null
"$build/apps/chakong/chakong" conformance --plugin "$work/b/libtrust_connector.so" \
  --connector trust --seed 5 --golden "$src/examples/plugin_connector/golden" | tee "$work/out"
# The golden exchange ran and passed (not only the sandbox checks).
grep -q '^pass  trust.sandbox  *golden:hold_and_lookup  *3 requests, 1 wire call' "$work/out"
