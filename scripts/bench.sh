#!/usr/bin/env bash
# Benchmark: ftpfs against curl on the same vsftpd, in the same run. Run as root after scripts/build.sh.
#
#   bash scripts/bench.sh [--delay-ms N [--delay-via auto|netem|proxy]] [--curl-only]
#
# --delay-ms N   adds N ms of round-trip time (N/2 ms each way), for curl and ftpfs alike, by one of:
#                netem:  vsftpd, curl and ftpfs's network side all run inside a private network
#                        namespace created for the run, with netem on that namespace's loopback. Real
#                        kernel TCP end to end. Needs the sch_netem kernel module. Nothing leaves the
#                        namespace; it is deleted on exit.
#                proxy:  scripts/ftp_delay_proxy.py, a userspace FTP proxy on 127.0.0.1 between both
#                        clients and vsftpd, delays every chunk each way, rewrites passive replies so
#                        data connections take the same path, caps bytes in flight per connection and
#                        direction at a TCP-like window (BENCH_WINDOW_BYTES, default 4 MiB: one stream
#                        gets at most window/RTT) and charges each new connection its handshake round
#                        trip. No loss, jitter or slow start; under heavy parallel load the proxy's own
#                        CPU (one Python thread) can become the limit.
#                auto (default): netem when the kernel has it, else the proxy.
#                The table says which one was used.
# --curl-only    measure only the curl side (e.g. while ftpfs does not build).
# Environment: BENCH_SIZE_MB (default 512) for the big file, BENCH_RANDOM_READS (default 200),
#              FTPFS (default build/ftpfs), BENCH_STEPS (comma-separated subset of: sequential_read,
#              random_reads, big_listing, tree_stat, copy_out, big_write, copy_in; default all),
#              FTPFS_OPTIONS (extra -o options for the mount, e.g. block_size=1M),
#              BENCH_REPEAT (default 1: tries of the sequential reads, the big write and the small-file
#              copies, each interleaved with curl's; each side keeps its best, and the cold read and
#              the big write also show the median of the tries),
#              BENCH_WINDOW_BYTES (proxy only, default 4194304), BENCH_RATE_MBIT (proxy only: a bandwidth
#              cap per direction; default none).
# The server logs every command, so the table also shows how many FTP commands each ftpfs workload
# sent (and how many listings), beside curl's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-vsftpd.sh

delay_ms=0
delay_via=auto
curl_only=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --delay-ms) delay_ms=$2; shift 2 ;;
    --delay-via) delay_via=$2; shift 2 ;;
    --curl-only) curl_only=--curl-only; shift ;;
    *) echo "usage: $0 [--delay-ms N [--delay-via auto|netem|proxy]] [--curl-only]" >&2; exit 2 ;;
  esac
done
case $delay_via in
  auto | netem | proxy) ;;
  *) echo "bench.sh: --delay-via must be auto, netem or proxy" >&2; exit 2 ;;
esac
window_bytes=${BENCH_WINDOW_BYTES:-4194304}
rate_mbit=${BENCH_RATE_MBIT:-}
size_mb=${BENCH_SIZE_MB:-512}
ftpfs=$(realpath -m "${FTPFS:-build/ftpfs}")
if [[ -z $curl_only && ! -x $ftpfs ]]; then
  echo "bench.sh: $ftpfs not found; run scripts/build.sh first (or use --curl-only)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/ftpfs-bench.XXXXXX)
netns=""
proxy_pid=""
cleanup() {
  set +e
  if mountpoint -q "$work/mnt" 2>/dev/null; then
    fusermount3 -u "$work/mnt" || fusermount3 -uz "$work/mnt"
  fi
  if [[ -n $proxy_pid ]]; then
    kill -TERM "$proxy_pid" 2>/dev/null
    wait "$proxy_pid" 2>/dev/null
  fi
  vsftpd_stop
  # Deleting the namespace also removes its loopback and the netem qdisc on it.
  [[ -n $netns ]] && ip netns del "$netns"
  rm -rf "$work"
}
trap cleanup EXIT

delay_how=""
if [[ $delay_ms != 0 && $delay_via != proxy ]]; then
  netns="ftpfs-bench-$$"
  ip netns add "$netns"
  ip netns exec "$netns" ip link set lo up
  half=$(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 2 }')
  modprobe sch_netem 2>/dev/null || true
  if ip netns exec "$netns" tc qdisc add dev lo root netem delay "${half}ms" 2>"$work/tc.err"; then
    echo "network namespace $netns: ${half} ms each way on its loopback" >&2
    delay_how="netem on a private namespace's loopback (kernel TCP)"
  elif [[ $delay_via == netem ]]; then
    echo "bench.sh: --delay-via netem needs the netem queueing discipline (kernel module sch_netem)," \
      "which this kernel does not offer: $(cat "$work/tc.err")" >&2
    exit 1
  else
    echo "bench.sh: no netem in this kernel; adding the delay with scripts/ftp_delay_proxy.py" >&2
    ip netns del "$netns"
    netns=""
  fi
fi
if [[ $delay_ms != 0 && -z $delay_how ]]; then
  delay_how="scripts/ftp_delay_proxy.py (userspace), window $window_bytes bytes per connection and direction"
  if [[ -n $rate_mbit ]]; then
    delay_how+=", $rate_mbit Mbit/s each way"
  fi
fi

# A wide passive range: with 100 ports, thousands of short transfers keep hitting ports still in use.
VSFTPD_PASV_PORTS=${VSFTPD_PASV_PORTS:-1000}
VSFTPD_LOG_PROTOCOL=YES
vsftpd_start "$work/server" "$netns"
echo "vsftpd: $VSFTPD_URL (pid $VSFTPD_PID)" >&2
url=$VSFTPD_URL
if [[ $delay_ms != 0 && -z $netns ]]; then
  # Both clients talk to the proxy; only the served files and the server's log are read directly.
  python3 scripts/ftp_delay_proxy.py --upstream-port "$VSFTPD_PORT" --delay-ms "$delay_ms" \
    --window-bytes "$window_bytes" ${rate_mbit:+--rate-mbit "$rate_mbit"} --port-file "$work/proxy.port" &
  proxy_pid=$!
  for _ in $(seq 1 100); do
    [[ -s $work/proxy.port ]] && break
    if ! kill -0 "$proxy_pid" 2>/dev/null; then
      echo "bench.sh: ftp_delay_proxy.py exited" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [[ ! -s $work/proxy.port ]]; then
    echo "bench.sh: ftp_delay_proxy.py did not start" >&2
    exit 1
  fi
  url="ftp://anonymous@127.0.0.1:$(cat "$work/proxy.port")/pub"
  curl -sS --fail --max-time 10 -o /dev/null "$url/"
  echo "delay proxy: $url (pid $proxy_pid)" >&2
fi

echo "creating data (${size_mb} MiB file, 10,000-entry dir, 100 x 20 tree, 1,000 x 64 KiB) ..." >&2
data="$VSFTPD_ROOT/bench"
mkdir -p "$data" "$work/local" "$VSFTPD_ROOT/up-ftpfs" "$VSFTPD_ROOT/up-curl"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$data/big.bin"
cp "$data/big.bin" "$work/local/big.bin"
python3 - "$data" "$work/local" <<'PY'
import os, sys
data, local = sys.argv[1], sys.argv[2]
os.makedirs(f"{data}/many", exist_ok=True)
for i in range(10000):
    with open(f"{data}/many/entry-{i:05d}.txt", "wb") as f:
        f.write(b"x" * (i % 100))
for d in range(100):
    os.makedirs(f"{data}/tree/d{d:03d}", exist_ok=True)
    for i in range(20):
        with open(f"{data}/tree/d{d:03d}/f{i:02d}", "wb") as f:
            f.write(os.urandom(1024))
for target in (f"{data}/small", f"{local}/small"):
    os.makedirs(target, exist_ok=True)
blob = os.urandom(64 * 1024)
for i in range(1000):
    for target in (f"{data}/small", f"{local}/small"):
        with open(f"{target}/s{i:04d}.bin", "wb") as f:
            f.write(blob[i % 64:] + blob[:i % 64])
PY
chown -R ftp:ftp "$VSFTPD_ROOT"

python3 scripts/bench.py --url "$url" --root "$VSFTPD_ROOT" --work "$work" --ftpfs "$ftpfs" \
  --netns "$netns" --size-mb "$size_mb" --random-reads "${BENCH_RANDOM_READS:-200}" \
  --delay-ms "$delay_ms" --delay-how "$delay_how" --server-log "$work/server/vsftpd.log" --steps "${BENCH_STEPS:-}" \
  --ftpfs-options "${FTPFS_OPTIONS:-}" --repeat "${BENCH_REPEAT:-1}" $curl_only
