#!/usr/bin/env python3
"""Measures ftpfs against curl on the same FTP server; called by bench.sh, which starts the server,
creates the data and cleans up. Prints one table: for each workload ftpfs, curl, and how many times
faster ftpfs is (>1: ftpfs faster, <1: slower)."""

import argparse
import collections
import mmap
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time


class Bench:
    def __init__(self, args):
        self.a = args
        self.mnt = os.path.join(args.work, "mnt")
        self.proc = None
        self.mount_count = 0
        self.rows = []
        self.commands = []  # (workload, ftpfs Counter or None, curl Counter or None)
        self.notes = []
        self.can_drop = None

    # --- plumbing -------------------------------------------------------------------------------
    def ns(self, argv):
        if self.a.netns:
            return ["nsenter", f"--net=/run/netns/{self.a.netns}", "--"] + argv
        return argv

    def run(self, argv, **kw):
        # Waits in waitpid(), with a timer for the bound. subprocess.run(timeout=...) polls instead,
        # sleeping up to 50 ms between polls: that rounded every timed command up by as much as
        # 50 ms (an eighth of a 512 MiB upload, a third of an `ls -l`), on both sides.
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kw)
        bound = threading.Timer(3600, proc.kill)
        bound.start()
        try:
            returncode = proc.wait()
        finally:
            bound.cancel()
        if returncode != 0:
            raise subprocess.CalledProcessError(returncode, argv)

    def curl(self, *args):
        return self.run(self.ns(["curl", "-sS", "--fail"] + list(args)))

    def curl_config(self, lines, *args):
        path = os.path.join(self.a.work, f"curl-{len(self.rows)}-{time.monotonic_ns()}.cfg")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self.curl("-K", path, *args)

    def warm(self, path):
        """Reads a local file or directory tree once, so an upload of it starts with it in the page cache
        (each side of an upload measurement starts the same way; mount() drops the caches)."""
        paths = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
        for p in paths:
            self.read_file(p)

    def drop_caches(self):
        os.sync()
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            self.can_drop = True
        except OSError:
            if self.can_drop is None:
                self.notes.append("could not drop the page cache (/proc/sys/vm/drop_caches not writable): "
                                  "'cold' means a fresh mount and cache_dir, server-side files may be cached")
            self.can_drop = False

    def mount(self, keep_cache=False):
        """A fresh ftpfs mount with an empty cache_dir, so the next reads are cold on the client side
        (or, with keep_cache, the previous mount's cache_dir)."""
        self.unmount()
        if not keep_cache:
            self.mount_count += 1
        cache = os.path.join(self.a.work, f"cache-{self.mount_count}")
        os.makedirs(cache, exist_ok=True)
        os.makedirs(self.mnt, exist_ok=True)
        log = open(os.path.join(self.a.work, f"ftpfs-{self.mount_count}.log"), "ab")
        self.proc = subprocess.Popen(
            self.ns([self.a.ftpfs, self.a.url, self.mnt, "-f", "-o",
                     ",".join([f"cache_dir={cache}"] + ([self.a.ftpfs_options] if self.a.ftpfs_options else []))]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.ismount(self.mnt):
                self.drop_caches()
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"ftpfs exited with {self.proc.returncode}: {open(log.name).read()}")
            time.sleep(0.05)
        raise RuntimeError("ftpfs did not mount within 15 s")

    def unmount(self):
        if os.path.ismount(self.mnt):
            if subprocess.run(["fusermount3", "-u", self.mnt]).returncode != 0:
                subprocess.run(["fusermount3", "-uz", self.mnt])
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    # --- FTP commands, counted in the server's log ---------------------------------------------
    def log_mark(self):
        try:
            return os.path.getsize(self.a.server_log)
        except OSError:
            return None

    def commands_since(self, mark):
        """The FTP commands the server received since mark, by verb."""
        if mark is None:
            return None
        with open(self.a.server_log, "rb") as f:
            f.seek(mark)
            text = f.read().decode("utf-8", "replace")
        return collections.Counter(m.group(1).upper()
                                   for m in re.finditer(r'FTP command: Client "[^"]*", "([A-Za-z]+)', text))

    def counted(self, fn):
        """Runs fn, returns (its result, the commands the server got meanwhile)."""
        mark = self.log_mark()
        result = fn()
        return result, self.commands_since(mark)

    def add_commands(self, name, ftpfs, curl):
        self.commands.append((name, ftpfs, curl))

    def best_of(self):
        return f" (best of {self.a.repeat})" if self.a.repeat > 1 else ""

    @staticmethod
    def timed(fn):
        start = time.monotonic()
        fn()
        return time.monotonic() - start

    def add(self, name, unit, ftpfs, curl, higher_is_better):
        """ftpfs/curl are numbers in `unit` (or None when not measured)."""
        if ftpfs is None or curl is None or ftpfs == 0 or curl == 0:
            ratio = None
        else:
            ratio = ftpfs / curl if higher_is_better else curl / ftpfs
        self.rows.append((name, unit, ftpfs, curl, ratio))
        print(f"  {name}: ftpfs={fmt(ftpfs)} curl={fmt(curl)} {unit}", file=sys.stderr, flush=True)

    def ftpfs_part(self, fn):
        """Runs fn only when ftpfs is being measured; its failure is reported, not fatal."""
        if self.a.curl_only:
            return None
        try:
            return fn()
        except Exception as e:  # a broken ftpfs must not hide the curl numbers
            self.notes.append(f"ftpfs failed: {e}")
            return None

    # --- workloads ------------------------------------------------------------------------------
    def read_file(self, path):
        # One reused, page-aligned buffer, as cat, cp and dd use. A fresh 1 MiB bytes object per read
        # costs page faults, and a bytearray starts 16 bytes past a page boundary, which made the
        # kernel's copy to user space run at 1.4 GB/s instead of 5.5 GB/s here (a tmpfs file read
        # both ways): the benchmark would measure its own buffer.
        buf = mmap.mmap(-1, 1 << 20)
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass

    def sequential_read(self):
        size_mb = self.a.size_mb * 1024 * 1024 / 1e6
        path = "bench/big.bin"

        cmds = {}

        def ftpfs_cold():
            self.mount()
            secs, cmds["cold"] = self.counted(lambda: self.timed(lambda: self.read_file(os.path.join(self.mnt, path))))
            return size_mb / secs

        def ftpfs_warm():
            # The first re-read right after the cold read shares the CPU with the disk tier's
            # writeback; later ones show the steady state. Both are reported.
            rates = []
            for i in range(3):
                secs, c = self.counted(lambda: self.timed(lambda: self.read_file(os.path.join(self.mnt, path))))
                if i == 0:
                    cmds["warm"] = c
                rates.append(size_mb / secs)
            return rates[0], max(rates)

        def ftpfs_remount():
            # A new mount over the cache_dir the cold read filled: the disk tier, no page cache.
            self.mount(keep_cache=True)
            secs, cmds["disk"] = self.counted(lambda: self.timed(lambda: self.read_file(os.path.join(self.mnt, path))))
            return size_mb / secs

        # On a shared machine single runs vary a lot: each side gets BENCH_REPEAT interleaved tries
        # and keeps its best; the cold reads also show the median of the tries.
        cold = warm = warm_best = disk = curl_cold = curl_warm = None
        cold_tries, curl_cold_tries = [], []
        best = lambda old, new: new if old is None or (new is not None and new > old) else old
        for _ in range(max(1, self.a.repeat)):
            c = self.ftpfs_part(ftpfs_cold)
            cold = best(cold, c)
            if c is not None:
                cold_tries.append(c)
                w = self.ftpfs_part(ftpfs_warm)
                if w is not None:
                    warm, warm_best = best(warm, w[0]), best(warm_best, w[1])
                disk = best(disk, self.ftpfs_part(ftpfs_remount))
            self.drop_caches()
            t, curl_cmds = self.counted(
                lambda: self.timed(lambda: self.curl("-o", "/dev/null", f"{self.a.url}/{path}")))
            curl_cold = best(curl_cold, size_mb / t)
            curl_cold_tries.append(size_mb / t)
            curl_warm = best(curl_warm,
                             size_mb / self.timed(lambda: self.curl("-o", "/dev/null", f"{self.a.url}/{path}")))
        self.add(f"sequential read {self.a.size_mb} MiB, cold (best of {self.a.repeat})", "MB/s", cold, curl_cold, True)
        if self.a.repeat > 1:
            self.add(f"sequential read {self.a.size_mb} MiB, cold (median of {self.a.repeat})", "MB/s",
                     median(cold_tries), median(curl_cold_tries), True)
        self.add(f"sequential re-read {self.a.size_mb} MiB, warm (first re-read)", "MB/s", warm, curl_warm, True)
        self.add(f"sequential re-read {self.a.size_mb} MiB, warm (best of 3 re-reads)", "MB/s", warm_best, curl_warm,
                 True)
        self.add(f"sequential read {self.a.size_mb} MiB, remount (disk tier)", "MB/s", disk, curl_warm, True)
        self.add_commands("sequential read, cold", cmds.get("cold"), curl_cmds)
        self.add_commands("sequential re-read, warm", cmds.get("warm"), curl_cmds)
        self.add_commands("sequential read, remount", cmds.get("disk"), curl_cmds)

    def random_reads(self):
        n = self.a.random_reads
        blocks = self.a.size_mb * 1024 * 1024 // 4096
        offsets = [random.Random(42 + i).randrange(blocks) * 4096 for i in range(n)]
        path = "bench/big.bin"

        def ftpfs():
            lat = []
            fd = os.open(os.path.join(self.mnt, path), os.O_RDONLY)
            try:
                for off in offsets:
                    t = time.monotonic()
                    if len(os.pread(fd, 4096, off)) != 4096:
                        raise RuntimeError("short read")
                    lat.append(time.monotonic() - t)
            finally:
                os.close(fd)
            return lat

        def curl():
            lat = []
            for off in offsets:
                t = time.monotonic()
                self.curl("-r", f"{off}-{off + 4095}", "-o", "/dev/null", f"{self.a.url}/{path}")
                lat.append(time.monotonic() - t)
            return lat

        f_lat, f_cmds = self.ftpfs_part(lambda: (self.mount(), self.counted(ftpfs))[1]) or (None, None)
        self.drop_caches()  # cold for curl too, as for the fresh mount
        c_lat, c_cmds = self.counted(curl)
        self.add_commands(f"random 4 KiB reads (x{n})", f_cmds, c_cmds)
        iops = lambda lat: len(lat) / sum(lat) if lat else None
        self.add(f"random 4 KiB reads (x{n})", "IOPS", iops(f_lat), iops(c_lat), True)
        self.add("  random read latency p50", "ms", pct(f_lat, 50), pct(c_lat, 50), False)
        self.add("  random read latency p99", "ms", pct(f_lat, 99), pct(c_lat, 99), False)

    def big_listing(self):
        target = "bench/many"

        cmds = {}

        def ftpfs():
            self.mount()
            ls = lambda: self.timed(lambda: self.run(["ls", "-l", os.path.join(self.mnt, target)]))
            cold, cmds["cold"] = self.counted(ls)
            warm, cmds["warm"] = self.counted(ls)
            return cold, warm

        f = self.ftpfs_part(ftpfs) or (None, None)
        c, c_cmds = self.counted(lambda: self.timed(lambda: self.curl("-o", "/dev/null", f"{self.a.url}/{target}/")))
        self.add_commands("ls -l 10,000 entries, cold", cmds.get("cold"), c_cmds)
        self.add_commands("ls -l 10,000 entries, warm", cmds.get("warm"), c_cmds)
        self.add("ls -l of 10,000 entries, cold (curl: one LIST)", "s", f[0], c, False)
        self.add("ls -l of 10,000 entries, warm", "s", f[1], c, False)

    def tree_stat(self):
        root = "bench/tree"
        dirs = sorted(os.listdir(os.path.join(self.a.root, root)))

        def ftpfs():
            self.mount()
            return self.counted(lambda: self.timed(lambda: self.run(
                ["find", os.path.join(self.mnt, root), "-type", "f", "-printf", "%s %T@\n"])))

        f, f_cmds = self.ftpfs_part(ftpfs) or (None, None)
        lines = [f'url = "{self.a.url}/{root}/"', 'output = "/dev/null"']
        for d in dirs:
            lines += [f'url = "{self.a.url}/{root}/{d}/"', 'output = "/dev/null"']
        c, c_cmds = self.counted(lambda: self.timed(lambda: self.curl_config(lines)))
        self.add_commands("find+stat tree", f_cmds, c_cmds)
        self.add(f"find+stat over {len(dirs)} dirs, 2,000 files (curl: LIST each)", "s", f, c, False)

    def copy_out(self):
        src = "bench/small"
        names = sorted(os.listdir(os.path.join(self.a.root, src)))
        out_f = os.path.join(self.a.work, "out-ftpfs")
        out_c = os.path.join(self.a.work, "out-curl")

        def ftpfs():
            self.mount()
            return self.counted(lambda: self.timed(lambda: self.run(["cp", "-r", os.path.join(self.mnt, src), out_f])))

        os.makedirs(out_c, exist_ok=True)
        lines = []
        for n in names:
            lines += [f'url = "{self.a.url}/{src}/{n}"', f'output = "{out_c}/{n}"']
        f = c = f_cmds = c_cmds = None
        for _ in range(max(1, self.a.repeat)):
            shutil.rmtree(out_f, ignore_errors=True)
            f_try, f_cmds_try = self.ftpfs_part(ftpfs) or (None, None)
            if f_try is not None and (f is None or f_try < f):
                f, f_cmds = f_try, f_cmds_try
            shutil.rmtree(out_c, ignore_errors=True)
            os.makedirs(out_c, exist_ok=True)
            self.drop_caches()  # the server's files cold for curl too, as for the fresh mount
            c_try, c_cmds = self.counted(lambda: self.timed(lambda: self.curl_config(lines)))
            c = c_try if c is None else min(c, c_try)
        self.add_commands(f"cp -r {len(names)} x 64 KiB out", f_cmds, c_cmds)
        self.add(f"cp -r {len(names)} x 64 KiB out{self.best_of()}", "s", f, c, False)
        if f is not None and not self.a.curl_only:
            differ = subprocess.run(["cmp", "-s", os.path.join(out_f, names[0]), os.path.join(out_c, names[0])])
            if differ.returncode != 0:
                self.notes.append("cp -r out: ftpfs's copy differs from curl's")

    def big_write(self):
        local = os.path.join(self.a.work, "local", "big.bin")
        size_mb = os.path.getsize(local) / 1e6

        def ftpfs():
            self.mount()
            self.warm(local)
            t = self.timed(lambda: self.run(["cp", local, os.path.join(self.mnt, "up-ftpfs", "big.bin")]))
            if os.path.getsize(os.path.join(self.a.root, "up-ftpfs", "big.bin")) != os.path.getsize(local):
                raise RuntimeError("uploaded big.bin has the wrong size on the server")
            return size_mb / t

        def remove(name):
            path = os.path.join(self.a.root, name, "big.bin")
            if os.path.exists(path):
                os.remove(path)

        f_tries, c_tries = [], []
        for _ in range(max(1, self.a.repeat)):
            # Every try writes a new file, as the first does. Replacing the last try's file would add the
            # server's truncation of it (vsftpd: about 175 ms for 512 MiB, whichever client) and the
            # write-back of its freed blocks to the time. (mount() and drop_caches() sync first.)
            remove("up-ftpfs")
            f_try = self.ftpfs_part(ftpfs)
            if f_try is not None:
                f_tries.append(f_try)
            remove("up-curl")
            self.drop_caches()
            self.warm(local)
            c_tries.append(size_mb / self.timed(lambda: self.curl("-T", local, f"{self.a.url}/up-curl/big.bin")))
        best = lambda tries: max(tries) if tries else None
        if self.a.repeat > 1:
            # The spread says how far apart best and median can be in this run.
            print(f"  sequential write tries: ftpfs {' '.join(fmt(t) for t in f_tries)}; "
                  f"curl {' '.join(fmt(t) for t in c_tries)} MB/s", file=sys.stderr, flush=True)
        self.add(f"sequential write {self.a.size_mb} MiB (curl -T){self.best_of()}", "MB/s", best(f_tries),
                 best(c_tries), True)
        if self.a.repeat > 1:
            self.add(f"sequential write {self.a.size_mb} MiB (curl -T) (median of {self.a.repeat})", "MB/s",
                     median(f_tries), median(c_tries), True)

    def copy_in(self):
        local = os.path.join(self.a.work, "local", "small")
        names = sorted(os.listdir(local))

        def ftpfs():
            self.mount()
            self.warm(local)
            return self.timed(lambda: self.run(["cp", "-r", local, os.path.join(self.mnt, "up-ftpfs", "small")]))

        lines = ["ftp-create-dirs"]
        for n in names:
            lines += [f'upload-file = "{local}/{n}"', f'url = "{self.a.url}/up-curl/small/{n}"']
        f = c = None
        for _ in range(max(1, self.a.repeat)):
            # Into a fresh directory each time, as the first try.
            shutil.rmtree(os.path.join(self.a.root, "up-ftpfs", "small"), ignore_errors=True)
            f_try = self.ftpfs_part(ftpfs)
            if f_try is not None and (f is None or f_try < f):
                f = f_try
            shutil.rmtree(os.path.join(self.a.root, "up-curl", "small"), ignore_errors=True)
            self.drop_caches()
            self.warm(local)
            c_try = self.timed(lambda: self.curl_config(lines))
            c = c_try if c is None else min(c, c_try)
        self.add(f"cp -r {len(names)} x 64 KiB in (curl: one connection){self.best_of()}", "s", f, c, False)

    def print_table(self):
        print()
        if self.a.delay_ms:
            # Numbers under added delay depend on how it was added: say so where they are read.
            print(f"{self.a.delay_ms:g} ms added round-trip time, by {self.a.delay_how or 'an unnamed method'}")
        head = ("workload", "unit", "ftpfs", "curl", "ftpfs vs curl")
        rows = [(n, u, fmt(f), fmt(c), "n/a" if r is None else f"{r:.2f}x") for n, u, f, c, r in self.rows]
        widths = [max(len(str(x[i])) for x in [head] + rows) for i in range(5)]
        line = lambda r: "  ".join(str(v).ljust(widths[i]) if i < 2 else str(v).rjust(widths[i])
                                   for i, v in enumerate(r))
        print(line(head))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
        if self.commands:
            print("\nFTP commands the server received (total; listings; RETR; other verbs):")
            for name, f, c in self.commands:
                print(f"  {name}: ftpfs {describe(f)} | curl {describe(c)}")
        print("\n'ftpfs vs curl' is how many times faster ftpfs is (above 1: faster than curl).")
        delay = f", {self.a.delay_ms:g} ms added round-trip time" if self.a.delay_ms else ""
        print(f"server: vsftpd on 127.0.0.1{delay}")
        for note in dict.fromkeys(self.notes):
            print(f"note: {note}")


def describe(counter):
    if counter is None:
        return "n/a"
    listings = sum(counter[v] for v in ("LIST", "MLSD", "NLST"))
    rest = ", ".join(f"{v} {n}" for v, n in counter.most_common() if v not in ("LIST", "MLSD", "NLST", "RETR"))
    return f"{sum(counter.values())}; {listings}; {counter['RETR']}; {rest or '-'}"


def median(values):
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return values[k] * 1000.0


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--root", required=True, help="the served tree on local disk")
    p.add_argument("--work", required=True)
    p.add_argument("--ftpfs", required=True)
    p.add_argument("--netns", default="")
    p.add_argument("--size-mb", type=int, required=True)
    p.add_argument("--random-reads", type=int, default=200)
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--delay-how", default="", help="how the delay was added (netem, proxy and its window)")
    p.add_argument("--curl-only", action="store_true")
    p.add_argument("--repeat", type=int, default=1, help="tries per read, write and copy measurement, best kept")
    p.add_argument("--server-log", default="", help="vsftpd's log with log_ftp_protocol=YES")
    p.add_argument("--steps", default="", help="comma-separated workloads (default: all)")
    p.add_argument("--ftpfs-options", default="", help="extra -o options for the mount")
    b = Bench(p.parse_args())
    try:
        steps = (b.sequential_read, b.random_reads, b.big_listing, b.tree_stat, b.copy_out, b.big_write,
                 b.copy_in)
        wanted = [w for w in b.a.steps.split(",") if w]
        unknown = set(wanted) - {s.__name__ for s in steps}
        if unknown:
            sys.exit(f"bench.py: unknown steps {sorted(unknown)}")
        for step in steps:
            if wanted and step.__name__ not in wanted:
                continue
            print(f"{step.__name__} ...", file=sys.stderr, flush=True)
            step()
    finally:
        b.unmount()
    b.print_table()


if __name__ == "__main__":
    main()
