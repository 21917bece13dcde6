#!/usr/bin/python3
"""The lab peer's small RFC services, in one process, dual-stack (IPv4 and IPv6).

  echo     RFC 862   TCP and UDP port 7
  discard  RFC 863   TCP and UDP port 9
  daytime  RFC 867   TCP and UDP port 13
  chargen  RFC 864   TCP port 19 (stops when the client closes)

Started by scripts/lab inside the peer and far namespaces.
"""
import datetime
import socket
import socketserver
import struct
import sys
import threading


class DualStackTcp(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def daytime() -> bytes:
    return datetime.datetime.now().strftime("%A, %B %d, %Y %H:%M:%S\r\n").encode()


class TcpEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


class TcpDiscard(socketserver.BaseRequestHandler):
    def handle(self):
        while self.request.recv(65536):
            pass


class TcpDaytime(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(daytime())


class TcpChargen(socketserver.BaseRequestHandler):
    def handle(self):
        chars = bytes(range(32, 127))  # the 95 printable ASCII characters
        # RFC 864's rotating pattern: line i is 72 printable characters starting at the i-th.
        lines = b"".join(bytes(chars[(i + k) % 95] for k in range(72)) + b"\r\n" for i in range(95))
        try:
            while True:
                self.request.sendall(lines)
        except OSError:
            pass


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; Python 3.11 lacks the name


def serve_udp(family: int, port: int, answer) -> None:
    """One UDP service on one family. Replies leave from the address the request was sent to
    (IP_PKTINFO / IPV6_PKTINFO): the peer is multi-homed, and a reply from the address the
    routing table would pick instead is one a connected client socket drops."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind(("::", port))
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.bind(("0.0.0.0", port))
    while True:
        data, ancillary, _, addr = s.recvmsg(65535, 256)
        reply = answer(data)
        if reply is None:
            continue
        cmsgs = []
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                _, spec_dst, dst = struct.unpack("=I4s4s", value[:12])
                if dst[0] < 224:  # unicast request: answer from that address
                    cmsgs.append((level, kind, struct.pack("=I4s4s", 0, dst, b"\0" * 4)))
            elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                dst, ifindex = struct.unpack("=16sI", value[:20])
                if dst[0] != 0xFF:
                    cmsgs.append((level, kind, struct.pack("=16sI", dst, ifindex)))
        try:
            s.sendmsg([reply], cmsgs, 0, addr)
        except OSError:
            pass


def main() -> int:
    servers = [
        DualStackTcp(("::", 7), TcpEcho),
        DualStackTcp(("::", 9), TcpDiscard),
        DualStackTcp(("::", 13), TcpDaytime),
        DualStackTcp(("::", 19), TcpChargen),
    ]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for family in (socket.AF_INET, socket.AF_INET6):
        for port, answer in ((7, lambda d: d), (9, lambda d: None), (13, lambda d: daytime())):
            threads.append(threading.Thread(target=serve_udp, args=(family, port, answer), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
