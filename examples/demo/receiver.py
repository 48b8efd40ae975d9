#!/usr/bin/env python3
"""receiver.py — the demo's receiver host: joins source-specific channels with IGMPv3
(IP_ADD_SOURCE_MEMBERSHIP, so the kernel sends the reports), checks every datagram's
content against the pattern tests/peers/mc-send writes, and reports on stdout:

    TIME info receiver: joined S,G (IGMPv3 report sent by the kernel)
    TIME info receiver: first packet S,G after N ms (sequence X)
    TIME info receiver: S,G: N packets, last sequence X, K bad    (each second with news)
    TIME info receiver: left S,G: N packets, K bad, first after N ms   (SIGTERM/SIGINT)

usage: receiver.py IFADDR PORT SUMMARYFILE S,G [S,G...]
SUMMARYFILE gets one line per channel: S,G packets=N bad=K first_ms=N|none.
Stops by itself after 300 s.  IPv4 only (the demo's channels are IPv4)."""
import os
import select
import signal
import socket
import struct
import sys
import time

IP_ADD_SOURCE_MEMBERSHIP = 39  # linux/in.h; not exported by Python's socket module
IP_DROP_SOURCE_MEMBERSHIP = 40
LIFETIME_S = 300


def say(text):
    """One line on stdout, stamped like the tools' log lines (UTC, milliseconds)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    print(f"{stamp} info receiver: {text}", flush=True)


def expected(seq, size):
    """mc-send's payload: 8-byte big-endian sequence, then (k * 13 + seq) & 0xff."""
    head = struct.pack(">Q", seq)
    return head + bytes(((k * 13 + seq) & 0xFF) for k in range(8, size))


def main():
    if len(sys.argv) < 5:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    ifaddr, port, summary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    chans = []
    for arg in sys.argv[4:]:
        s, g = arg.split(",")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((g, port))
        # Linux struct ip_mreq_source: multiaddr, interface, sourceaddr.
        mreq = socket.inet_aton(g) + socket.inet_aton(ifaddr) + socket.inet_aton(s)
        sock.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq)
        chans.append({"sg": arg, "sock": sock, "mreq": mreq, "t0": time.monotonic(),
                      "n": 0, "bad": 0, "first": None, "last": None, "shown": 0})
        say(f"joined {arg} (IGMPv3 report sent by the kernel)")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    end = time.monotonic() + LIFETIME_S
    next_report = time.monotonic() + 1.0
    by_fd = {c["sock"].fileno(): c for c in chans}
    while not stop and time.monotonic() < end:
        try:
            ready, _, _ = select.select(list(by_fd), [], [], 0.2)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            c = by_fd[fd]
            data = c["sock"].recv(65536)
            seq = struct.unpack(">Q", data[:8])[0] if len(data) >= 8 else -1
            if seq < 0 or data != expected(seq, len(data)):
                c["bad"] += 1
            c["n"] += 1
            c["last"] = seq
            if c["first"] is None:
                c["first"] = (now - c["t0"]) * 1000.0
                say(f"first packet {c['sg']} after {c['first']:.0f} ms (sequence {seq})")
        if now >= next_report:
            next_report = now + 1.0
            for c in chans:
                if c["n"] != c["shown"]:
                    c["shown"] = c["n"]
                    say(f"{c['sg']}: {c['n']} packets, last sequence {c['last']}, {c['bad']} bad")

    lines = []
    for c in chans:
        c["sock"].setsockopt(socket.IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, c["mreq"])
        first = "none" if c["first"] is None else f"{c['first']:.0f}"
        say(f"left {c['sg']}: {c['n']} packets, {c['bad']} bad, first after "
            f"{first + ' ms' if c['first'] is not None else 'none'}")
        lines.append(f"{c['sg']} packets={c['n']} bad={c['bad']} first_ms={first}\n")
    tmp = summary + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.replace(tmp, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
