#!/usr/bin/env bash
# Configures and builds ftpfs and its tests into ./build, warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DFTPFS_WERROR=ON "$@"
cmake --build build -j"$(nproc)"
