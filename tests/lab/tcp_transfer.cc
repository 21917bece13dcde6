// A bulk-transfer tool on the stack's C++ TCP API for the TCP lab test: standard input to a
// connection or a connection to standard output, as client or as server, so the kernel peer
// (socat, nc, python3) sits at the other end. Usage:
//   tcp-transfer connect-send HOST PORT < data      tcp-transfer listen-recv PORT > data
//   tcp-transfer connect-recv HOST PORT > data      tcp-transfer listen-send PORT < data
// A sender half-closes after the last byte and waits for the peer's FIN, so every byte has
// been acknowledged before the stack stops. Failures print the errno's name (ECONNRESET, ...)
// on stderr and exit 1.
#include <string.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "stack/examples/example_common.h"

namespace {

using namespace pytcp;

int Fail(const char* what, int err) {
  fmt::print(stderr, "tcp-transfer: {}: {}\n", what, strerrorname_np(err));
  return 1;
}

int SendStdinThenDrain(TcpSocket& sock) {
  std::vector<uint8_t> buf(256 * 1024);
  uint64_t total = 0;
  for (;;) {
    const ssize_t got = read(STDIN_FILENO, buf.data(), buf.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return Fail("read stdin", errno);
    }
    if (got == 0) break;
    const int err = examples::SendAll(sock, ByteSpan(buf.data(), static_cast<size_t>(got)));
    if (err != 0) return Fail("send", err);
    total += static_cast<uint64_t>(got);
  }
  if (auto r = sock.Shutdown(SHUT_WR); !r.ok()) return Fail("shutdown", r.error());
  for (;;) {  // the peer's FIN says it has everything
    auto n = sock.Recv(buf, 0);
    if (!n.ok()) return Fail("recv", n.error());
    if (*n == 0) break;
  }
  fmt::print(stderr, "tcp-transfer: sent {} bytes\n", total);
  return 0;
}

int RecvToStdout(TcpSocket& sock) {
  std::vector<uint8_t> buf(256 * 1024);
  uint64_t total = 0;
  for (;;) {
    auto n = sock.Recv(buf, 0);
    if (!n.ok()) return Fail("recv", n.error());
    if (*n == 0) break;
    for (size_t off = 0; off < *n;) {
      const ssize_t w = write(STDOUT_FILENO, buf.data() + off, *n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Fail("write stdout", errno);
      }
      off += static_cast<size_t>(w);
    }
    total += *n;
  }
  fmt::print(stderr, "tcp-transfer: received {} bytes\n", total);
  return 0;
}

int Run(Stack& stack, const std::string& mode, char** args, int nargs) {
  const bool client = mode.rfind("connect-", 0) == 0;
  const bool sending = mode.size() > 5 && mode.substr(mode.size() - 5) == "-send";
  if ((client && nargs != 2) || (!client && nargs != 1)) return 2;
  auto sock = stack.CreateTcpSocket();
  std::shared_ptr<TcpSocket> conn;
  if (client) {
    auto host = Ip4Address::Parse(args[0]);
    if (!host) return 2;
    const SocketAddress to{IpAddress(*host), static_cast<uint16_t>(std::atoi(args[1]))};
    if (auto r = sock->Connect(to); !r.ok()) return Fail("connect", r.error());
    conn = sock;
  } else {
    const SocketAddress any{IpAddress(Ip4Address()), static_cast<uint16_t>(std::atoi(args[0]))};
    if (auto r = sock->Bind(any); !r.ok()) return Fail("bind", r.error());
    if (auto r = sock->Listen(1); !r.ok()) return Fail("listen", r.error());
    fmt::print(stderr, "tcp-transfer: listening\n");
    auto accepted = sock->Accept(nullptr, 0);
    if (!accepted.ok()) return Fail("accept", accepted.error());
    conn = std::move(*accepted);
    sock->Close();
  }
  const int rc = sending ? SendStdinThenDrain(*conn) : RecvToStdout(*conn);
  conn->Close();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: {} connect-send|connect-recv HOST PORT | listen-send|listen-recv PORT\n",
               argv[0]);
    return 2;
  }
  auto stack = pytcp::examples::StartStackFromEnvironment("tcp-transfer");
  if (!stack) return 1;
  if (!pytcp::examples::ReportAddressWhenReady(stack.get(), "tcp-transfer", std::chrono::seconds(10), stderr)) {
    fmt::print(stderr, "tcp-transfer: no usable address\n");
    stack->Stop();
    return 1;
  }
  const int rc = Run(*stack, argv[1], argv + 2, argc - 2);
  if (rc == 2) fmt::print(stderr, "tcp-transfer: bad arguments\n");
  stack->Stop();
  return rc;
}
