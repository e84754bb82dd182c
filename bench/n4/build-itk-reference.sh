#!/usr/bin/env bash
# Builds the ITK C++ N4 reference program for bench/n4/bench-n4.ts.
# Needs Debian's ITK: apt-get install -y libinsighttoolkit5-dev cmake g++
# The binary goes OUTSIDE the work tree (default /tmp/mri2ct-itk-n4/itk-n4-reference; override with
# ITK_N4_BUILD_DIR) so that nothing built is ever committed. Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${ITK_N4_BUILD_DIR:-${TMPDIR:-/tmp}/mri2ct-itk-n4}"
mkdir -p "$build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build/cmake.log"
cmake --build "$build" -j 2 > "$build/build.log"
echo "$build/itk-n4-reference"
