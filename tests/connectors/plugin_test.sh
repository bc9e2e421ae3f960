#!/usr/bin/env bash
# Installs Chakong's headers, builds examples/plugin_connector out of tree against them, and
# runs the conformance kit on the plugin. Usage: plugin_test.sh BUILD_DIR SOURCE_DIR
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
  --connector trust --seed 5
