# Shell helpers shared by demo.sh and bench.sh (source it; needs bash and root).
#
#   vsftpd_start DIR [NETNS]   start a throwaway vsftpd on 127.0.0.1 serving DIR/chroot/pub, writable by
#                              anonymous; inside network namespace NETNS if given. Sets VSFTPD_PID,
#                              VSFTPD_PORT, VSFTPD_ROOT (served tree on disk), VSFTPD_URL.
#                              VSFTPD_LOG_PROTOCOL=YES logs every command to DIR/vsftpd.log.
#   vsftpd_stop                stop it (by its pid/process group) and wait for it.
#   in_netns NETNS CMD...      run CMD in the network namespace only (keeps the host's mounts, so a
#                              FUSE mount made there is visible to everyone); without NETNS just CMD.
#
# vsftpd refuses an anonymous chroot root the ftp user could write to, hence the chroot/pub layout:
# the chroot root is read-only and pub/ (owned by ftp) is the writable tree.

VSFTPD_PID=""
VSFTPD_PORT=""
VSFTPD_ROOT=""
VSFTPD_URL=""

in_netns() {
  local ns=$1
  shift
  if [[ -n $ns ]]; then
    nsenter --net="/run/netns/$ns" -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  local ns=${1:-}
  in_netns "$ns" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

vsftpd_start() {
  local dir=$1 ns=${2:-} attempt
  mkdir -p "$dir/empty" "$dir/chroot/pub"
  chmod 755 "$dir" "$dir/empty" "$dir/chroot"
  chown root:root "$dir/chroot"
  chown ftp:ftp "$dir/chroot/pub"
  VSFTPD_ROOT="$dir/chroot/pub"
  for attempt in 1 2 3 4 5; do
    VSFTPD_PORT=$(free_port "$ns")
    local range=${VSFTPD_PASV_PORTS:-100}
    local pasv_min=$((VSFTPD_PORT > 65535 - range - 1 ? VSFTPD_PORT - range : VSFTPD_PORT + 1))
    cat >"$dir/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port=$VSFTPD_PORT
pasv_enable=YES
pasv_min_port=$pasv_min
pasv_max_port=$((pasv_min + range - 1))
port_enable=YES
connect_from_port_20=NO
secure_chroot_dir=$dir/empty
seccomp_sandbox=NO
anonymous_enable=YES
anon_root=$dir/chroot
no_anon_password=YES
ftp_username=ftp
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_world_readable_only=NO
anon_umask=022
local_enable=NO
force_dot_files=YES
mdtm_write=YES
use_localtime=NO
max_clients=0
max_per_ip=0
xferlog_enable=YES
vsftpd_log_file=$dir/vsftpd.log
log_ftp_protocol=${VSFTPD_LOG_PROTOCOL:-NO}
CONF
    # setsid gives vsftpd (and the session processes it forks) a process group of its own, so stopping
    # it by that group's id stops exactly what we started.
    # Started directly (not through a shell function, which would fork a subshell) so that $! is
    # vsftpd itself.
    if [[ -n $ns ]]; then
      nsenter --net="/run/netns/$ns" -- setsid /usr/sbin/vsftpd "$dir/vsftpd.conf" >"$dir/vsftpd.out" 2>&1 &
    else
      setsid /usr/sbin/vsftpd "$dir/vsftpd.conf" >"$dir/vsftpd.out" 2>&1 &
    fi
    VSFTPD_PID=$!
    VSFTPD_URL="ftp://anonymous@127.0.0.1:$VSFTPD_PORT/pub"
    local i
    for i in $(seq 1 100); do
      if ! kill -0 "$VSFTPD_PID" 2>/dev/null; then
        break
      fi
      if in_netns "$ns" curl -s --max-time 2 -o /dev/null "$VSFTPD_URL/"; then
        return 0
      fi
      sleep 0.1
    done
    echo "vsftpd did not start on port $VSFTPD_PORT (attempt $attempt): $(cat "$dir/vsftpd.out")" >&2
    vsftpd_stop
  done
  return 1
}

vsftpd_stop() {
  [[ -n $VSFTPD_PID ]] || return 0
  # nsenter execs, and setsid execs when it is not a group leader, so $! is vsftpd's pid and its group.
  kill -TERM -- "-$VSFTPD_PID" 2>/dev/null || kill -TERM "$VSFTPD_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$VSFTPD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$VSFTPD_PID" 2>/dev/null || true
  wait "$VSFTPD_PID" 2>/dev/null || true
  VSFTPD_PID=""
}
