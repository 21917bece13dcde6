#!/usr/bin/env python3
"""IPv4 multicast probe for multicast_lab_test.sh: the same program runs natively (the
kernel) and under LD_PRELOAD=libpytcp.so (PyTCP), and a kernel responder answers it.

  mcast_probe.py member GROUP PORT [SOURCE]   join (any-source, or SOURCE only with
      IP_ADD_SOURCE_MEMBERSHIP), send a query to the group with TTL 255 as mDNS does,
      print the answer (source, TTL, IP_PKTINFO's destination) and whether our own query
      came back (IP_MULTICAST_LOOP), leave, linger so the leave reports go out, exit 0 if
      answered.
  mcast_probe.py responder GROUP PORT IFADDR  join on IFADDR, answer every query by
      multicast from IFADDR; print each query's source and TTL.
"""
import socket
import struct
import sys
import time

# Linux's values; Python's socket module has not all of them.
IP_TTL = 2
IP_PKTINFO = 8
IP_RECVTTL = 12
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40


def member(group, port, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    if source:
        mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + socket.inet_aton(source)
        s.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq)
    else:
        mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    me = None
    answered = looped = False
    deadline = time.monotonic() + 6
    next_query = 0.0
    while time.monotonic() < deadline and not answered:
        if time.monotonic() >= next_query:
            s.sendto(b"Q probe", (group, port))
            next_query = time.monotonic() + 1
        s.settimeout(0.3)
        try:
            data, anc, _, src = s.recvmsg(512, 256)
        except socket.timeout:
            continue
        ttl, dst = None, None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_TTL:
                ttl = struct.unpack("i", value)[0]
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                dst = socket.inet_ntoa(value[8:12])
        if data.startswith(b"Q"):
            looped = True
            continue
        answered = True
        print(f"answer {data.decode()} from {src[0]}:{src[1]} ttl {ttl} to {dst}")
    print(f"own query looped back: {'yes' if looped else 'no'}")
    time.sleep(1.5)  # the join's retransmission (RFC 3376 §5.1: within 1 s)
    if source:
        s.setsockopt(socket.IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, mreq)
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
    time.sleep(2)  # the leave's reports
    s.close()
    return 0 if answered else 1


def responder(group, port, ifaddr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    while True:
        data, anc, _, src = s.recvmsg(512, 64)
        if not data.startswith(b"Q"):
            continue
        ttl = None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_TTL:
                ttl = struct.unpack("i", value)[0]
        print(f"query from {src[0]}:{src[1]} ttl {ttl}", flush=True)
        s.sendto(b"A" + data[1:], (group, port))


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "member":
        sys.exit(member(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
    responder(sys.argv[2], int(sys.argv[3]), sys.argv[4])
