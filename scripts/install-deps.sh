#!/usr/bin/env bash
# Installs everything needed to build ftpfs and run all of its tests on Debian 12 (run as root).
# The one place that lists the packages: .ci/run and the README quick start both use this script.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config g++
  libfuse3-dev libboost-dev libboost-system-dev libspdlog-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev googletest
  # run and test: the FUSE helper, a real FTP server, an independent FTP client, tools the mount tests drive
  fuse3 vsftpd curl rsync tar util-linux procps kmod
  # man page checks, benchmark helpers (python3, tc/ip for --delay-ms)
  groff-base mandoc man-db python3 iproute2
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: run as root (apt-get needs it)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Installing vsftpd may start the system service on port 21. The tests and the demo start their own
# servers on other ports, so it is not needed; stopping it is harmless if it never ran.
service vsftpd stop >/dev/null 2>&1 || true
