#!/usr/bin/env python3
"""A userspace FTP proxy that adds round-trip time, for benchmarking on machines without netem.

Clients connect to 127.0.0.1:--listen-port; each control connection is relayed to the FTP server on
127.0.0.1:--upstream-port. Every chunk, in each direction, is delivered --delay-ms/2 after the proxy
received it (one-way delay, order kept per direction). Passive replies (227 and 229) are rewritten so
that the data connections also go through the proxy, with the same delay: for each one the proxy
listens on an ephemeral 127.0.0.1 port, names that port in the reply and relays the one connection it
accepts to the server's real data port.

What it models, and how:
  * one-way delay: a per-direction queue of (due time, chunk); one timer per queue, so a stream is
    not slowed down by sleeping per chunk.
  * a TCP window per connection and direction: the proxy stops reading from a sender while
    --window-bytes are "in flight", i.e. received but not yet acknowledged, where a chunk counts as
    acknowledged half a round trip after it was delivered (the ACK's way back). One stream therefore
    gets at most window / RTT, as over a real link, and parallel streams add up as they would there.
  * the TCP handshake: a client's connect() to the proxy completes at once, where over a real link it
    costs one round trip. So the proxy opens its connection to the server 1.5 round trips after
    accepting (when the last handshake packet would reach the server), and holds the client's bytes
    until then. A server that greets (220) or waits in accept() for a passive data connection thus
    answers after the same time as over a real link.
  * --rate-mbit (optional): a link bandwidth per direction, shared by all connections.

Not modelled: packet loss, jitter, slow start, kernel buffers beyond the window. Active mode (PORT /
EPRT) is not supported: the server would connect to the client directly, without delay. TLS (AUTH TLS)
cannot be rewritten either. The proxy only ever connects to 127.0.0.1.

Python 3.11 standard library only. Exits cleanly on SIGTERM or SIGINT, printing one summary line.
"""

import argparse
import asyncio
import collections
import os
import re
import signal
import socket
import sys

HOST = "127.0.0.1"
EOF = object()  # queue marker: the sender half-closed
RESET = object()  # queue marker: the sender's connection broke


class DelayLine:
    """Calls `fire(item)` for each pushed item at (or after) its due time, in push order, with one
    timer for the whole queue. Due times must not decrease (every item gets the same delay)."""

    def __init__(self, loop, fire):
        self.loop = loop
        self.fire = fire
        self.items = collections.deque()
        self.timer = None

    def push(self, due, item):
        self.items.append((due, item))
        if self.timer is None:
            self._arm()

    def _arm(self):
        self.timer = self.loop.call_at(self.items[0][0], self._run) if self.items else None

    def _run(self):
        self.timer = None
        now = self.loop.time()
        while self.items and self.items[0][0] <= now:
            self.fire(self.items.popleft()[1])
        self._arm()

    def cancel(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.items.clear()


class RateLimit:
    """A bandwidth cap for one direction of the link, shared by every connection: a chunk leaves
    once the link has carried everything queued before it."""

    def __init__(self, mbit):
        self.bytes_per_s = mbit * 1e6 / 8
        self.free_at = 0.0

    def sent_at(self, now, n):
        self.free_at = max(self.free_at, now) + n / self.bytes_per_s
        return self.free_at


class Pipe:
    """One direction of one relayed connection."""

    def __init__(self, proxy, relay, name, rate):
        self.proxy = proxy
        self.rate = rate
        self.relay = relay
        self.name = name
        self.src = None  # transport we read from
        self.dst = None  # transport we write to (None until the upstream connection is made)
        self.held = []  # items due before dst existed
        self.inflight = 0
        self.read_paused = False
        self.dst_paused = False
        self.done = False  # EOF delivered
        self.bytes = 0
        self.last_due = 0.0
        self.deliveries = DelayLine(proxy.loop, self._deliver)
        self.acks = DelayLine(proxy.loop, self._ack)

    # --- from the sending side
    def on_data(self, data):
        self.inflight += len(data)
        self.bytes += len(data)
        now = self.proxy.loop.time()
        sent = now if self.rate is None else self.rate.sent_at(now, len(data))
        self.last_due = sent + self.proxy.half
        self.deliveries.push(self.last_due, data)
        self._update_reading()

    def on_end(self, marker):
        self.deliveries.push(max(self.last_due, self.proxy.loop.time() + self.proxy.half), marker)

    # --- to the receiving side
    def attach_dst(self, transport):
        self.dst = transport
        held, self.held = self.held, []
        for item in held:
            self._deliver(item)

    def _deliver(self, item):
        if self.dst is None:
            self.held.append(item)
            return
        if item is EOF:
            self.done = True
            if not self.dst.is_closing() and self.dst.can_write_eof():
                try:
                    self.dst.write_eof()
                except OSError:
                    pass  # the receiver is gone already: nothing left to tell it
            self.relay.check_done()
        elif item is RESET:
            self.done = True
            self.relay.abort()
        else:
            if not self.dst.is_closing():
                self.dst.write(item)
            self.acks.push(self.proxy.loop.time() + self.proxy.half, len(item))

    def _ack(self, n):
        self.inflight -= n
        self._update_reading()

    # --- flow control
    def set_dst_paused(self, paused):
        self.dst_paused = paused
        self._update_reading()

    def _update_reading(self):
        pause = self.inflight >= self.proxy.window or self.dst_paused
        if self.src is None or self.src.is_closing() or pause == self.read_paused:
            return
        self.read_paused = pause
        if pause:
            self.src.pause_reading()
        else:
            self.src.resume_reading()

    def cancel(self):
        self.deliveries.cancel()
        self.acks.cancel()


class Side(asyncio.Protocol):
    """One TCP connection of a relay: what it receives goes into `out`; `into` writes to it."""

    def __init__(self, relay, out, into):
        self.relay = relay
        self.out = out
        self.into = into
        self.transport = None
        self.got_eof = False

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=1 << 20)
        self.out.src = transport
        self.into.attach_dst(transport)
        self.relay.sides.append(self)

    def data_received(self, data):
        self.out.on_data(data)

    def eof_received(self):
        self.relay.proxy.log(f"{self.relay.kind} {self.out.name} eof")
        self.got_eof = True
        self.out.on_end(EOF)
        return True  # keep the socket open: the other direction may still be sending

    def connection_lost(self, exc):
        self.relay.proxy.log(f"{self.relay.kind} {self.out.name} lost {exc}")
        if not self.relay.closed:
            # A reset reaches the other end half a round trip later, as an RST would.
            if exc is not None:
                self.out.on_end(RESET)
            elif not self.got_eof:
                self.out.on_end(EOF)
        self.relay.side_lost(self)

    def pause_writing(self):
        self.into.set_dst_paused(True)

    def resume_writing(self):
        self.into.set_dst_paused(False)


class ControlServerSide(Side):
    """The server-facing side of a control connection: rewrites passive replies line by line before
    they enter the delay queue."""

    def __init__(self, relay, out, into):
        super().__init__(relay, out, into)
        self.partial = b""

    def data_received(self, data):
        data = self.partial + data
        cut = data.rfind(b"\n") + 1
        self.partial = data[cut:]
        if cut:
            lines = data[:cut].split(b"\n")[:-1]
            self.out.on_data(b"".join(self.relay.rewrite(line) + b"\n" for line in lines))

    def eof_received(self):
        if self.partial:
            self.out.on_data(self.partial)
            self.partial = b""
        return super().eof_received()


PASV_RE = re.compile(rb"^227 (.*?)(\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*(\d+)\s*,\s*(\d+))(.*)$", re.S)
EPSV_RE = re.compile(rb"^229 (.*?)\(([!-~])\2\2(\d+)\2\)(.*)$", re.S)


class Relay:
    """A client connection and its upstream twin, joined by two delayed pipes."""

    def __init__(self, proxy, upstream_port, control):
        self.proxy = proxy
        self.control = control
        self.up = Pipe(proxy, self, "c2s", proxy.rate_up)
        self.down = Pipe(proxy, self, "s2c", proxy.rate_down)
        self.sides = []
        self.listeners = []  # passive data listeners opened for this control connection
        self.closed = False
        self.kind = "control" if control else "data"
        proxy.relays.add(self)
        proxy.stats["control" if control else "data"] += 1
        # Over a real link the last handshake packet reaches the server 1.5 round trips after the SYN
        # left the client: connect upstream then.
        self.connect_timer = proxy.loop.call_later(3 * proxy.half, self._connect, upstream_port)

    def client_side(self):
        return Side(self, self.up, self.down)

    def _connect(self, port):
        self.connect_timer = None
        if self.closed:
            return
        cls = ControlServerSide if self.control else Side
        task = self.proxy.loop.create_task(
            self.proxy.loop.create_connection(lambda: cls(self, self.down, self.up), HOST, port))
        task.add_done_callback(self._connected)

    def _connected(self, task):
        if task.cancelled() or task.exception() is not None:
            if task.exception() is not None:
                print(f"ftp_delay_proxy: {self.kind} connection to 127.0.0.1 failed: {task.exception()}",
                      file=sys.stderr, flush=True)
            self.abort()
        elif self.closed:
            task.result()[0].abort()

    def rewrite(self, line):
        """A reply line from the server, with passive ports replaced by proxy listeners."""
        stripped = line.rstrip(b"\r")
        cr = line[len(stripped):]
        m = PASV_RE.match(stripped)
        if m:
            port = int(m.group(3)) * 256 + int(m.group(4))
            mine = self._listen(port)
            if mine is None:
                return line
            new = b"127,0,0,1,%d,%d" % (mine >> 8, mine & 0xFF)
            return b"227 " + m.group(1) + new + m.group(5) + cr
        m = EPSV_RE.match(stripped)
        if m:
            mine = self._listen(int(m.group(3)))
            if mine is None:
                return line
            d = m.group(2)
            return b"229 " + m.group(1) + b"(" + d * 3 + b"%d" % mine + d + b")" + m.group(4) + cr
        return line

    def _listen(self, upstream_port):
        """Listens (now, so the port is valid when the client reads the reply) for the one data
        connection the reply announces; it is relayed to the server's upstream_port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((HOST, 0))
            sock.listen(4)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            self.proxy.log(f"cannot listen for a data connection: {e}")
            return None
        listener = DataListener(self, sock, upstream_port)
        self.listeners.append(listener)
        return sock.getsockname()[1]

    def side_lost(self, side):
        if side in self.sides:
            self.sides.remove(side)
        if not self.sides and self.connect_timer is None:
            self.close()  # nobody left to deliver to

    def check_done(self):
        if self.up.done and self.down.done:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in list(self.sides):
            s.transport.close()
        self._finish()

    def abort(self):
        if self.closed:
            return
        self.closed = True
        for s in list(self.sides):
            s.transport.abort()
        self._finish()

    def _finish(self):
        if self.connect_timer is not None:
            self.connect_timer.cancel()
            self.connect_timer = None
        self.up.cancel()
        self.down.cancel()
        for listener in list(self.listeners):  # each one removes itself
            listener.close()
        self.proxy.stats["bytes_up"] += self.up.bytes
        self.proxy.stats["bytes_down"] += self.down.bytes
        self.proxy.relays.discard(self)


class DataListener:
    """Accepts one passive data connection and relays it; gives up after a minute."""

    def __init__(self, control, sock, upstream_port):
        self.control = control
        self.proxy = control.proxy
        self.sock = sock
        self.upstream_port = upstream_port
        self.server = None
        self.done = False  # accepted its connection (or gave up)
        self.closed = False
        self.timeout = self.proxy.loop.call_later(60, self.close)
        task = self.proxy.loop.create_task(
            self.proxy.loop.create_server(self._factory, sock=sock, backlog=4))
        task.add_done_callback(self._started)

    def _started(self, task):
        if task.cancelled() or task.exception() is not None:
            self.close()
            return
        self.server = task.result()
        if self.closed:
            self.server.close()

    def _factory(self):
        if self.done:
            # A second connection to a one-shot port: refuse it.
            return _Refuse()
        # Not closed right here: asyncio attaches the new transport to the server after this returns.
        self.proxy.loop.call_soon(self.close)
        self.done = True
        relay = Relay(self.proxy, self.upstream_port, control=False)
        return relay.client_side()

    def close(self):
        if self.closed:
            return
        self.closed = self.done = True
        self.timeout.cancel()
        if self.server is not None:
            self.server.close()
        if self in self.control.listeners:
            self.control.listeners.remove(self)


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport):
        transport.abort()


class Proxy:
    def __init__(self, args):
        self.args = args
        self.loop = asyncio.get_running_loop()
        self.half = args.delay_ms / 2000.0
        self.window = args.window_bytes
        self.rate_up = RateLimit(args.rate_mbit) if args.rate_mbit else None
        self.rate_down = RateLimit(args.rate_mbit) if args.rate_mbit else None
        self.relays = set()
        self.stats = collections.Counter()

    def log(self, msg):
        if self.args.verbose:
            print(f"ftp_delay_proxy: {msg}", file=sys.stderr, flush=True)

    def accept(self):
        return Relay(self, self.args.upstream_port, control=True).client_side()

    async def run(self):
        # Unexpected errors in callbacks must be seen, not lost in an unconfigured logger.
        self.loop.set_exception_handler(
            lambda loop, ctx: print(f"ftp_delay_proxy: error: {ctx.get('message')}: {ctx.get('exception')!r}",
                                    file=sys.stderr, flush=True))
        server = await self.loop.create_server(self.accept, HOST, self.args.listen_port, backlog=128)
        port = server.sockets[0].getsockname()[1]
        if self.args.port_file:
            with open(self.args.port_file + ".tmp", "w") as f:
                f.write(f"{port}\n")
            os.replace(self.args.port_file + ".tmp", self.args.port_file)
        print(f"ftp_delay_proxy: 127.0.0.1:{port} -> 127.0.0.1:{self.args.upstream_port}, "
              f"{self.args.delay_ms:g} ms round trip, window {self.window} bytes"
              + (f", {self.args.rate_mbit:g} Mbit/s" if self.args.rate_mbit else ""), file=sys.stderr, flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()
        for relay in list(self.relays):
            relay.abort()
        await server.wait_closed()
        s = self.stats
        print(f"ftp_delay_proxy: relayed {s['control']} control and {s['data']} data connections, "
              f"{s['bytes_up'] / 1e6:.1f} MB up, {s['bytes_down'] / 1e6:.1f} MB down", file=sys.stderr, flush=True)


async def serve(args):
    await Proxy(args).run()


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Passive mode only (PASV/EPSV replies are rewritten); active mode (PORT/EPRT) is not "
               "supported. Plain FTP only (no TLS). Connects to nothing but 127.0.0.1.")
    p.add_argument("--listen-port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    p.add_argument("--port-file", default="", help="write the port listened on to this file once ready")
    p.add_argument("--upstream-port", type=int, required=True, help="the FTP server's port on 127.0.0.1")
    p.add_argument("--delay-ms", type=float, required=True, help="round-trip time to add (half each way)")
    p.add_argument("--window-bytes", type=int, default=4 << 20,
                   help="bytes in flight per connection and direction (default 4 MiB)")
    p.add_argument("--rate-mbit", type=float, default=0, help="link bandwidth per direction, shared by all connections (default: none)")
    p.add_argument("--verbose", action="store_true", help="log connection events to stderr")
    args = p.parse_args()
    if args.delay_ms < 0 or args.window_bytes <= 0 or args.rate_mbit < 0:
        p.error("--delay-ms and --rate-mbit must be >= 0, --window-bytes > 0")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
