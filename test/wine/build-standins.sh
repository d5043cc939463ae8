#!/usr/bin/env bash
# Compiles the stand-in HCS DLLs (test/wine/standins) with mingw-w64 into $1.
set -euo pipefail
out=$1
src=$(cd "$(dirname "$0")/standins" && pwd)
mkdir -p "$out"
# vmcompute.dll also carries the legacy Hcs* API and the hcsshim oracle's exports.
extra() { [ "$1" = vmcompute ] && echo "$src/vmcompute-hcs.c" || true; }
pids=()
for dll in computecore computestorage virtdisk vmcompute cimfs; do
  x86_64-w64-mingw32-gcc -O2 -Wall -Wno-unused-function -shared -static-libgcc -s \
    -o "$out/$dll.dll" "$src/$dll.c" $(extra "$dll") "$src/forward.c" -lws2_32 -lole32 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
