#!/usr/bin/env bash
# A two-minute tour: starts a throwaway vsftpd on 127.0.0.1 with some sample files, mounts it with
# build/ftpfs, lists it, copies a file out and back in and compares checksums, then cleans up.
# Run as root (vsftpd and mounting need it) after scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-vsftpd.sh

ftpfs=${FTPFS:-build/ftpfs}
if [[ ! -x $ftpfs ]]; then
  echo "demo.sh: $ftpfs not found; run scripts/build.sh first" >&2
  exit 1
fi

work=$(mktemp -d /tmp/ftpfs-demo.XXXXXX)
mnt="$work/mnt"
ftpfs_pid=""
cleanup() {
  set +e
  if mountpoint -q "$mnt" 2>/dev/null; then
    fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
  fi
  if [[ -n $ftpfs_pid ]]; then
    for _ in $(seq 1 50); do kill -0 "$ftpfs_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$ftpfs_pid" 2>/dev/null
    wait "$ftpfs_pid" 2>/dev/null
  fi
  vsftpd_stop
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting vsftpd on 127.0.0.1 with sample files"
vsftpd_start "$work/server"
printf 'Hello from an FTP server.\n' >"$VSFTPD_ROOT/hello.txt"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$VSFTPD_ROOT/random-10MiB.bin"
mkdir -p "$VSFTPD_ROOT/docs"
for n in 1 2 3; do printf 'note %s\n' "$n" >"$VSFTPD_ROOT/docs/note-$n.txt"; done
chown -R ftp:ftp "$VSFTPD_ROOT"
echo "server: $VSFTPD_URL (pid $VSFTPD_PID), files in $VSFTPD_ROOT"

step "Mounting: $ftpfs $VSFTPD_URL $mnt"
mkdir -p "$mnt"
# -f keeps ftpfs in the foreground so this script knows its pid; a user would usually leave it off.
"$ftpfs" "$VSFTPD_URL" "$mnt" -f -o "cache_dir=$work/cache" 2>"$work/ftpfs.log" &
ftpfs_pid=$!
for _ in $(seq 1 150); do
  mountpoint -q "$mnt" && break
  if ! kill -0 "$ftpfs_pid" 2>/dev/null; then
    echo "ftpfs exited before mounting:" >&2
    cat "$work/ftpfs.log" >&2
    exit 1
  fi
  sleep 0.1
done
mountpoint -q "$mnt" || { echo "no mount after 15 s" >&2; cat "$work/ftpfs.log" >&2; exit 1; }

step "ls -l $mnt"
ls -l "$mnt"
ls -l "$mnt/docs"
cat "$mnt/hello.txt"

step "Copy out, then back in under a new name, and compare SHA-256"
cp "$mnt/random-10MiB.bin" "$work/copy.bin"
cp "$work/copy.bin" "$mnt/round-trip.bin"
sha256sum "$VSFTPD_ROOT/random-10MiB.bin" "$work/copy.bin" "$mnt/round-trip.bin" "$VSFTPD_ROOT/round-trip.bin"
sums=$(sha256sum "$VSFTPD_ROOT/random-10MiB.bin" "$work/copy.bin" "$mnt/round-trip.bin" \
  "$VSFTPD_ROOT/round-trip.bin" | awk '{print $1}' | sort -u | wc -l)
if [[ $sums -ne 1 ]]; then
  echo "checksums differ" >&2
  exit 1
fi
echo "all four checksums match"

step "Unmounting"
fusermount3 -u "$mnt"
wait "$ftpfs_pid" && echo "ftpfs exited cleanly"
ftpfs_pid=""
echo
echo "demo finished"
