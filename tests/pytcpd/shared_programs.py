"""Small socket programs for shared_lab_test.sh, each run under the shim (PYTCP_STACK=shared)
and against the Linux kernel, with the same expected output.

  fork-echo PORT               socketserver.ForkingTCPServer echo on 0.0.0.0:PORT
  echo-check HOST PORT N SIZE  N concurrent connections each echo SIZE random bytes; prints
                               "echo ok N" when every hash matches
  subprocess HOST PORT URL     holds a connection to an echo service, runs curl URL in a
                               subprocess (CPython vforks and closes fds in the child), then
                               uses the connection: "subprocess ok 200"
  scm-rights HOST PORT         connects, passes the socket to a forked child over an AF_UNIX
                               socketpair (SCM_RIGHTS), closes its own; the child echoes
                               through it: "scm-rights ok"
  hold-and-stream PORT PIDFILE listens, writes its pid, accepts one connection, sends 1 MB,
                               then sleeps (to be killed)
  peer-kill HOST PORT PIDFILE  reads 1 MB from hold-and-stream, SIGKILLs it (by pid), then
                               reports how the connection ended and what a new SYN gets
  reuseport PORT               listens on PORT with SO_REUSEPORT (beside others doing the
                               same), prints "listening", accepts until 3 s pass with no
                               connection, prints "accepted K"
  connect-many HOST PORT N     N connections one after the other, each closed at once
  echo-server PORT             an asyncio echo server on [::]:PORT (dual-stack, backlog 4096)
                               for many concurrent connections: reads an 8-byte length, echoes
                               that many bytes, then closes first, so the client (the passive
                               closer) keeps no TIME-WAIT
  scale-client HOST PORT N SIZE  N connections at once from one thread (selectors: epoll),
                               each sends the length and SIZE random bytes and reads the echo
                               to the server's FIN; prints "flowing" once echoed data comes
                               back, then "scale ok N" when every hash matches, else what
                               failed
"""
import asyncio
import hashlib
import os
import selectors
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time


def fork_echo(port):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(data)

    class Server(socketserver.ForkingTCPServer):
        allow_reuse_address = True

    with Server(("0.0.0.0", port), Handler) as server:
        server.serve_forever()


def echo_once(host, port, size):
    data = os.urandom(size)
    s = socket.create_connection((host, port), timeout=20)
    got = bytearray()

    def reader():
        while len(got) < size:
            chunk = s.recv(65536)
            if not chunk:
                return
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    t.join()
    s.close()
    return hashlib.sha256(data).digest() == hashlib.sha256(got).digest()


def echo_check(host, port, n, size):
    results = [False] * n

    def one(i):
        try:
            results[i] = echo_once(host, port, size)
        except OSError as e:
            print("connection", i, "failed:", e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("echo ok", n if all(results) else "FAILED", flush=True)


def subprocess_check(host, port, url):
    s = socket.create_connection((host, port), timeout=10)
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url],
                       capture_output=True, text=True, timeout=20)
    s.sendall(b"still here\n")
    answer = s.recv(100)
    ok = answer == b"still here\n"
    print("subprocess", "ok" if ok else "FAILED(%r)" % answer, r.stdout, flush=True)


def scm_rights(host, port):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        a.close()
        _, fds, _, _ = socket.recv_fds(b, 16, 1)
        os.set_blocking(fds[0], True)  # the sender's timeout made it non-blocking
        os.write(fds[0], b"passed\n")
        reply = os.read(fds[0], 100)
        os._exit(0 if reply == b"passed\n" else 1)
    b.close()
    s = socket.create_connection((host, port), timeout=10)
    socket.send_fds(a, [b"x"], [s.fileno()])
    s.close()  # the child's copy keeps the connection
    _, status = os.waitpid(pid, 0)
    print("scm-rights", "ok" if os.WEXITSTATUS(status) == 0 else "FAILED", flush=True)


def hold_and_stream(port, pidfile):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen()
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    conn, _ = listener.accept()
    conn.sendall(b"x" * 1000000)
    time.sleep(60)


def peer_kill(host, port, pidfile):
    s = socket.create_connection((host, port), timeout=10)
    got = 0
    while got < 1000000:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    victim = int(open(pidfile).read())
    os.kill(victim, signal.SIGKILL)
    s.settimeout(5)
    try:
        end = "fin" if s.recv(10) == b"" else "data"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "nothing"
    # The new SYN only once the process is gone (a kill takes a moment to complete).
    for _ in range(200):
        try:
            os.kill(victim, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    try:
        socket.create_connection((host, port), timeout=3).close()
        syn = "accepted"
    except ConnectionRefusedError:
        syn = "refused"
    except OSError as e:
        syn = "error %s" % e
    print("killed: got", got, "end", end, "new-syn", syn, flush=True)


def reuseport(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    s.settimeout(3)
    print("listening", flush=True)
    n = 0
    while True:
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        n += 1
        c.close()
    print("accepted", n, flush=True)


def connect_many(host, port, n):
    ok = 0
    for _ in range(n):
        try:
            socket.create_connection((host, port), 2).close()
            ok += 1
        except OSError as e:
            print("connect failed:", e, flush=True)
    print("connected", ok, flush=True)


def echo_server(port):
    async def handle(reader, writer):
        try:
            left = int.from_bytes(await reader.readexactly(8), "big")
            while left and (data := await reader.read(min(left, 65536))):
                left -= len(data)
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        writer.close()

    async def serve():
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
        server = await asyncio.start_server(handle, sock=sock, backlog=4096)
        print("listening", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


def scale_client(host, port, n, size):
    """All n connections in flight at once, driven by one epoll loop: each sends its
    random bytes while reading the echo, and compares the hashes at the end."""
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        c = {"sock": s, "out": size.to_bytes(8, "big") + os.urandom(size), "sent": 0,
             "got": bytearray(), "i": i}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = n
    deadline = time.monotonic() + 60
    failures = []
    flowing = False
    while left and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=1):
            c = key.data
            s = c["sock"]
            try:
                if mask & selectors.EVENT_WRITE and c["sent"] < len(c["out"]):
                    c["sent"] += s.send(memoryview(c["out"])[c["sent"]:c["sent"] + 65536])
                    if c["sent"] == len(c["out"]):
                        sel.modify(s, selectors.EVENT_READ, c)
                if mask & selectors.EVENT_READ:
                    data = s.recv(65536)
                    c["got"] += data
                    if data:
                        if not flowing:
                            flowing = True
                            print("flowing", flush=True)
                        continue
                    if len(c["got"]) != size:
                        failures.append("connection %d: EOF after %d bytes" % (c["i"], len(c["got"])))
                    sel.unregister(s)
                    s.close()
                    left -= 1
            except BlockingIOError:
                pass
            except OSError as e:
                failures.append("connection %d: %s" % (c["i"], e))
                sel.unregister(s)
                s.close()
                left -= 1
    ok = sum(1 for c in conns
             if hashlib.sha256(c["out"][8:]).digest() == hashlib.sha256(c["got"]).digest())
    if left:
        failures.append("%d connections unfinished after 60 s" % left)
    print("scale ok %d" % ok if ok == n else "scale FAILED %d of %d: %s" % (ok, n, failures[:3]),
          flush=True)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fork-echo":
        fork_echo(int(args[0]))
    elif cmd == "echo-check":
        echo_check(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "subprocess":
        subprocess_check(args[0], int(args[1]), args[2])
    elif cmd == "scm-rights":
        scm_rights(args[0], int(args[1]))
    elif cmd == "hold-and-stream":
        hold_and_stream(int(args[0]), args[1])
    elif cmd == "peer-kill":
        peer_kill(args[0], int(args[1]), args[2])
    elif cmd == "reuseport":
        reuseport(int(args[0]))
    elif cmd == "connect-many":
        connect_many(args[0], int(args[1]), int(args[2]))
    elif cmd == "echo-server":
        echo_server(int(args[0]))
    elif cmd == "scale-client":
        scale_client(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
