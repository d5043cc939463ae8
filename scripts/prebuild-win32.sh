#!/usr/bin/env bash
# Cross-compiles prebuilds/win32-x64/wcow-resources.node with mingw-w64 (see
# CMakeLists.txt). Offline: headers and the node.exe import library come from
# node-addon-api and node-api-headers in node_modules. The name follows
# prebuildify's N-API naming so node-gyp-build finds it on Windows.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packed tarball must carry this build (package.json prepack): a missing toolchain is an
# error, never a tarball without prebuilds/win32-x64.
for tool in cmake x86_64-w64-mingw32-g++-posix; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "prebuild-win32: '$tool' is missing (Debian: apt-get install cmake g++-mingw-w64-x86-64-posix); no prebuilds/win32-x64 without it" >&2
    exit 1
  fi
done

build_dir=${WCOW_WIN32_BUILD_DIR:-build-win32}
out_dir=prebuilds/win32-x64
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

cmake -S . -B "$build_dir" "${generator[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/mingw-w64-x86_64.cmake" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --parallel
mkdir -p "$out_dir"
cp "$build_dir/wcow_resources.node" "$out_dir/wcow-resources.node"
echo "$out_dir/wcow-resources.node"
