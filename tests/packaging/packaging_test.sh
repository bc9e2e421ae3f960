#!/usr/bin/env bash
# The two ways to embed Chakong, built and run as an integrator would (as {fmt} tests them):
#   packaging_test.sh find-package    BUILD_DIR SOURCE_DIR
#     installs BUILD_DIR into a temporary prefix, then builds docs/examples/embed_engine.cc out
#     of tree with find_package(chakong 0.2 REQUIRED COMPONENTS engine) and runs it;
#   packaging_test.sh add-subdirectory BUILD_DIR SOURCE_DIR
#     builds the same example with the source tree as a subdirectory, engine alone
#     (CHAKONG_BUILD_SIM=OFF, CHAKONG_BUILD_APPS=OFF), and runs it.
# Either way the simulator's, the service's (gRPC) and the CLI's dependencies are hidden from CMake
# (CMAKE_DISABLE_FIND_PACKAGE_*), so the test fails if the engine needs any of them.
set -euo pipefail
mode=$1
build=$(cd "$2" && pwd)
src=$(cd "$3" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hidden=()
for p in RocksDB yaml-cpp CLI11 TBB fmt spdlog benchmark GTest gRPC; do
  hidden+=("-DCMAKE_DISABLE_FIND_PACKAGE_${p}=ON")
done
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# An install from a sanitizer build (asan, tsan presets) has instrumented static libraries: the
# consumer is compiled and linked with the same flags, as an integrator would have to.
cxx_flags=$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$build/CMakeCache.txt")
ld_flags=$(sed -n 's/^CMAKE_EXE_LINKER_FLAGS:STRING=//p' "$build/CMakeCache.txt")

case "$mode" in
  find-package)
    cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
    cmake -S "$src/tests/packaging/find_package" -B "$work/b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCHAKONG_EXAMPLE="$src/docs/examples/embed_engine.cc" \
      -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$ld_flags" \
      "${launcher[@]}" "${hidden[@]}" >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
    ;;
  add-subdirectory)
    cmake -S "$src/tests/packaging/add_subdirectory" -B "$work/b" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCHAKONG_SOURCE_DIR="$src" "${launcher[@]}" "${hidden[@]}" \
      >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
    ;;
  *)
    echo "packaging_test.sh: unknown mode '$mode' (find-package or add-subdirectory)" >&2
    exit 2
    ;;
esac
cmake --build "$work/b" >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
echo "== virtual time"
"$work/b/embed_engine"
echo "== real time, over a Unix socket"
"$work/b/embed_engine" --real-time
