#!/usr/bin/python3
"""A tiny DNS client for lab tests (no dig on the machine): prints the addresses (A/AAAA) or
texts (TXT) or names (CNAME) in the answer, space-separated.

  dns_query.py @SERVER NAME [A|AAAA|TXT|CNAME]      (RFC 1035 message format, over UDP)
"""
import random
import socket
import struct
import sys

TYPES = {"A": 1, "CNAME": 5, "TXT": 16, "AAAA": 28}


def read_name(msg: bytes, i: int) -> tuple[str, int]:
    labels, end = [], None
    while msg[i]:
        if msg[i] & 0xC0 == 0xC0:  # compression pointer (RFC 1035 4.1.4)
            end = end or i + 2
            i = struct.unpack(">H", msg[i:i + 2])[0] & 0x3FFF
            continue
        labels.append(msg[i + 1:i + 1 + msg[i]].decode())
        i += 1 + msg[i]
    return ".".join(labels), end or i + 1


def main() -> int:
    if len(sys.argv) < 3 or not sys.argv[1].startswith("@"):
        print(__doc__, file=sys.stderr)
        return 2
    server, name = sys.argv[1][1:], sys.argv[2]
    qtype = TYPES[sys.argv[3].upper()] if len(sys.argv) > 3 else 1
    qid = random.randrange(65536)
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"
    query += struct.pack(">HH", qtype, 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.connect((server, 53))
        s.send(query)
        try:
            msg = s.recv(4096)
        except (TimeoutError, ConnectionRefusedError) as e:
            print(f"no answer from {server}: {e}", file=sys.stderr)
            return 1
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid:
        print("mismatched id", file=sys.stderr)
        return 1
    if flags & 0xF:
        print(f"rcode {flags & 0xF}", file=sys.stderr)
        return 1
    i = 12
    for _ in range(qd):
        _, i = read_name(msg, i)
        i += 4
    out = []
    for _ in range(an):
        _, i = read_name(msg, i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[i:i + 10])
        i += 10
        rdata = msg[i:i + rdlen]
        if rtype == qtype == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == qtype == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == qtype == 16:
            out.append(rdata[1:1 + rdata[0]].decode())
        elif rtype == 5 and qtype == 5:
            out.append(read_name(msg, i)[0])
        i += rdlen
    print(" ".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
