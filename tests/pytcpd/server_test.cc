// pytcpd's server over a memory link (no TAP, no root): a client speaking the protocol
// (protocol.h) to a Server on stack A, and a plain stack B as the peer. What the shim
// relies on: the socket's fd is a pair end that carries the TCP stream both ways; the
// request needs the fd attached; a listener's pair carries a token per waiting
// connection; the last close of the program's end closes the socket as an orphan (FIN
// after the data, RST over unread data).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pytcpd/protocol.h"
#include "pytcpd/server.h"
#include "pytcpd/socket_holders.h"
#include "stack/stack_console.h"
#include "stack/stack.h"
#include "tests/support/memory_stack.h"

namespace pytcp::pytcpd {
namespace {

constexpr Ip4Address kIpA(10, 77, 0, 2);
constexpr Ip4Address kIpB(10, 77, 0, 3);

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stacks_.Start();
    a_ = stacks_.a.get();
    b_ = stacks_.b.get();
    char dir[] = "/tmp/pytcpd-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ServerOptions o;
    o.control_path = dir_ + "/tap7.sock";
    server_ = std::make_unique<Server>(a_, o);
    ASSERT_TRUE(server_->Listen().ok());
    loop_ = std::thread([this] { server_->Run(); });
    ctl_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, o.control_path.c_str(), sizeof(sun.sun_path) - 1);
    ASSERT_EQ(connect(ctl_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
    Request hello;
    hello.op = Op::kHello;
    hello.arg[0] = kProtocolVersion;
    EXPECT_EQ(Call(hello, -1).result, getpid());  // the daemon is this process here
  }
  void TearDown() override {
    close(ctl_);
    server_->Stop();
    loop_.join();
    server_.reset();
    stacks_.Stop();
    unlink((dir_ + "/tap7.sock").c_str());
    rmdir(dir_.c_str());
  }

  // One request; the reply's header (its payload and fd in last_payload_/last_fd_).
  Reply Call(Request req, int fd, std::span<const uint8_t> payload = {}) {
    req.id = next_id_++;
    req.payload_len = static_cast<uint32_t>(payload.size());
    const std::span<const uint8_t> parts[] = {
        {reinterpret_cast<const uint8_t*>(&req), sizeof(req)}, payload};
    EXPECT_GT(SendMessage(ctl_, parts, fd), 0);
    std::vector<uint8_t> buf(sizeof(Reply) + kMaxPayload);
    last_fd_ = -1;
    const ssize_t n = ReceiveMessage(ctl_, buf, &last_fd_);
    Reply rep;
    EXPECT_GE(n, static_cast<ssize_t>(sizeof(Reply)));
    std::memcpy(&rep, buf.data(), sizeof(rep));
    EXPECT_EQ(rep.id, req.id);
    last_payload_.assign(buf.begin() + sizeof(Reply), buf.begin() + sizeof(Reply) + rep.payload_len);
    return rep;
  }
  int NewSocket(int type) {
    Request req;
    req.op = Op::kSocket;
    req.arg[0] = AF_INET;
    req.arg[1] = type;
    EXPECT_EQ(Call(req, -1).result, 1);  // how many were made
    return last_fd_;
  }
  std::shared_ptr<TcpSocket> PeerListener(uint16_t port) {
    auto l = b_->CreateTcpSocket();
    EXPECT_TRUE(l->Bind(SocketAddress{IpAddress(), port, 0}).ok());
    EXPECT_TRUE(l->Listen(4).ok());
    return l;
  }
  // Connects `fd`'s socket to B:port (blocking: the reply comes once it is connected).
  void ConnectTo(int fd, uint16_t port) {
    Request req;
    req.op = Op::kConnect;
    req.has_addr = 1;
    req.addr = SocketAddress{IpAddress(kIpB), port, 0};
    EXPECT_EQ(Call(req, fd).result, 0);
  }
  // A stream socket of the daemon's connected to a listener of B's on `port`: the program's
  // fd, and B's accepted socket (nullptr if the accept failed).
  struct Connected {
    int fd = -1;
    std::shared_ptr<TcpSocket> peer;
  };
  Connected ConnectedPair(uint16_t port) {
    auto l = PeerListener(port);
    Connected c;
    c.fd = NewSocket(SOCK_STREAM);
    ConnectTo(c.fd, port);
    auto accepted = l->Accept();
    if (accepted.ok()) c.peer = *accepted;
    return c;
  }
  static bool Readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
  }

  pytcp::testing::RunningStackPair stacks_;
  Stack* a_ = nullptr;
  Stack* b_ = nullptr;
  std::unique_ptr<Server> server_;
  std::thread loop_;
  std::string dir_;
  int ctl_ = -1;
  uint32_t next_id_ = 1;
  int last_fd_ = -1;
  std::vector<uint8_t> last_payload_;
};

TEST_F(ServerTest, ARequestWithoutItsSocketsFdIsEbadf) {
  const int s = NewSocket(SOCK_STREAM);
  ASSERT_GE(s, 0);
  Request req;
  req.op = Op::kGetName;
  Reply rep = Call(req, -1);
  EXPECT_EQ(rep.result, -1);
  EXPECT_EQ(rep.error, EBADF);
  // Another socket's fd (here the control connection itself) is not a socket of the daemon.
  rep = Call(req, ctl_);
  EXPECT_EQ(rep.error, EBADF);
  rep = Call(req, s);
  EXPECT_EQ(rep.result, 0);
  EXPECT_EQ(server_->socket_count(), 1u);
  close(s);
}

TEST_F(ServerTest, TheStreamFlowsThroughThePairBothWays) {
  auto [s, peer] = ConnectedPair(7);
  ASSERT_NE(peer, nullptr);
  ASSERT_EQ(write(s, "to the peer", 11), 11);
  uint8_t buf[64];
  auto n = peer->Recv(MutableByteSpan(buf, 11), MSG_WAITALL);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "to the peer");
  ASSERT_TRUE(peer->Send(ByteSpan(reinterpret_cast<const uint8_t*>("back"), 4)).ok());
  ASSERT_TRUE(Readable(s, 5000));
  EXPECT_EQ(read(s, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 4), "back");
  // The peer's FIN is the end of the pair's stream; kStatus says it was orderly.
  ASSERT_TRUE(peer->Shutdown(SHUT_WR).ok());
  ASSERT_TRUE(Readable(s, 5000));
  EXPECT_EQ(read(s, buf, sizeof(buf)), 0);
  Request st;
  st.op = Op::kStatus;
  EXPECT_EQ(Call(st, s).result, 0);
  close(s);
  peer->Close();
}

TEST_F(ServerTest, TheLastCloseSendsTheDataThenFin) {
  auto [s, peer] = ConnectedPair(8);
  ASSERT_NE(peer, nullptr);
  // A dup (as fork would make) keeps the socket; the last close ends it gracefully, with
  // everything written before it delivered. The peer reads meanwhile (what the pair and
  // the buffers hold is less than the data).
  const int dup_fd = dup(s);
  std::string data(3000000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  size_t held_by_dup = 0;
  std::thread writer([&] {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t w = write(s, data.data() + off, data.size() - off);
      if (w <= 0) return;
      off += static_cast<size_t>(w);
    }
    close(s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held_by_dup = server_->socket_count();
    close(dup_fd);
  });
  std::string got;
  std::vector<uint8_t> buf(65536);
  while (true) {
    auto n = peer->Recv(MutableByteSpan(buf.data(), buf.size()), 0);
    ASSERT_TRUE(n.ok()) << n.error();
    if (*n == 0) break;  // FIN
    got.append(reinterpret_cast<char*>(buf.data()), *n);
  }
  writer.join();
  EXPECT_EQ(held_by_dup, 1u);  // after the first close the dup still held the socket
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  for (int i = 0; i < 100 && server_->socket_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->socket_count(), 0u);
  peer->Close();
}

TEST_F(ServerTest, ClosingOverUnreadDataResets) {
  auto [s, peer] = ConnectedPair(9);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->Send(ByteSpan(reinterpret_cast<const uint8_t*>("unread"), 6)).ok());
  ASSERT_TRUE(Readable(s, 5000));  // it reached the pair, and the program never reads it
  close(s);
  uint8_t buf[8];
  auto n = peer->Recv(MutableByteSpan(buf, sizeof(buf)), 0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), ECONNRESET);  // tcp_close: RST when unread data is discarded
  peer->Close();
}

TEST_F(ServerTest, AListenerHasATokenPerWaitingConnection) {
  const int l = NewSocket(SOCK_STREAM);
  Request bind;
  bind.op = Op::kBind;
  bind.has_addr = 1;
  bind.addr = SocketAddress{IpAddress(), 8080, 0};
  ASSERT_EQ(Call(bind, l).result, 0);
  Request listen;
  listen.op = Op::kListen;
  listen.arg[0] = 8;
  ASSERT_EQ(Call(listen, l).result, 0);
  EXPECT_FALSE(Readable(l, 0));
  auto c1 = b_->CreateTcpSocket();
  auto c2 = b_->CreateTcpSocket();
  ASSERT_TRUE(c1->Connect(SocketAddress{IpAddress(kIpA), 8080, 0}).ok());
  ASSERT_TRUE(c2->Connect(SocketAddress{IpAddress(kIpA), 8080, 0}).ok());
  uint8_t tokens[4];
  for (int i = 0; i < 100; ++i) {
    int avail = 0;
    ioctl(l, FIONREAD, &avail);
    if (avail == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(recv(l, tokens, sizeof(tokens), MSG_DONTWAIT), 2);
  for (int i = 0; i < 2; ++i) {
    Request accept;
    accept.op = Op::kAccept;
    Reply rep = Call(accept, l);
    ASSERT_EQ(rep.result, 0);
    ASSERT_GE(last_fd_, 0);
    EXPECT_EQ(rep.addr.ip, IpAddress(kIpB));
    close(last_fd_);
  }
  Request accept;
  accept.op = Op::kAccept;
  EXPECT_EQ(Call(accept, l).error, EAGAIN);
  close(l);
}

// A datagram socket's pair carries the datagrams with their headers (DatagramHeader): the
// first send asks (it binds the socket), later ones go through the pair; a received one
// arrives whole, with its source, and the kernel cuts it for a short buffer as UDP does.
TEST_F(ServerTest, DatagramsTravelThroughTheSeqpacketPair) {
  auto peer = b_->CreateUdpSocket();
  ASSERT_TRUE(peer->Bind(SocketAddress{IpAddress(), 5353, 0}).ok());
  const int s = NewSocket(SOCK_DGRAM);
  int type = 0;
  socklen_t len = sizeof(type);
  ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_SEQPACKET);
  Request send;
  send.op = Op::kSend;
  send.has_addr = 1;
  send.addr = SocketAddress{IpAddress(kIpB), 5353, 0};
  const uint8_t msg[] = {'h', 'i'};
  EXPECT_EQ(Call(send, s, msg).result, 2);
  // The second through the pair: header and payload in one message.
  DatagramHeader out;
  out.has_addr = 1;
  out.addr = send.addr;
  out.length = 3;
  iovec parts[] = {{&out, sizeof(out)}, {const_cast<char*>("you"), 3}};
  msghdr m{};
  m.msg_iov = parts;
  m.msg_iovlen = 2;
  ASSERT_EQ(sendmsg(s, &m, 0), static_cast<ssize_t>(sizeof(out) + 3));
  uint8_t buf[16];
  SocketAddress from;
  for (const char* want : {"hi", "you"}) {
    auto n = peer->RecvFrom(MutableByteSpan(buf, sizeof(buf)), &from, 0);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), want);
  }
  ASSERT_TRUE(peer->SendTo(ByteSpan(reinterpret_cast<const uint8_t*>("answer"), 6), &from, 0).ok());
  ASSERT_TRUE(Readable(s, 5000));
  DatagramHeader in;
  char data[4];
  iovec into[] = {{&in, sizeof(in)}, {data, sizeof(data)}};  // room for 4 of its 6 bytes
  msghdr r{};
  r.msg_iov = into;
  r.msg_iovlen = 2;
  EXPECT_EQ(recvmsg(s, &r, 0), static_cast<ssize_t>(sizeof(in) + 4));
  EXPECT_NE(r.msg_flags & MSG_TRUNC, 0);
  EXPECT_EQ(in.kind, kDatagramData);
  EXPECT_EQ(in.length, 6u);
  EXPECT_EQ(std::string(data, 4), "answ");
  EXPECT_EQ(in.addr.ip, IpAddress(kIpB));
  EXPECT_EQ(in.addr.port, 5353);
  EXPECT_FALSE(Readable(s, 0));  // the rest was cut, as UDP cuts
  close(s);
}

// kSocket with a count makes that many sockets and attaches all their fds to one reply
// (the shim's pool of fresh sockets); each is a socket of its own.
TEST_F(ServerTest, ASocketRequestCanMakeSeveral) {
  Request req;
  req.op = Op::kSocket;
  req.arg[0] = AF_INET;
  req.arg[1] = SOCK_STREAM;
  req.arg[3] = 4;
  req.id = next_id_++;
  const std::span<const uint8_t> parts[] = {{reinterpret_cast<const uint8_t*>(&req), sizeof(req)}, {}};
  ASSERT_GT(SendMessage(ctl_, parts, -1), 0);
  std::vector<uint8_t> buf(sizeof(Reply) + kMaxPayload);
  int first = -1;
  std::vector<int> more;
  ASSERT_GE(ReceiveMessage(ctl_, buf, &first, &more), static_cast<ssize_t>(sizeof(Reply)));
  Reply rep;
  std::memcpy(&rep, buf.data(), sizeof(rep));
  EXPECT_EQ(rep.result, 4);
  ASSERT_GE(first, 0);
  ASSERT_EQ(more.size(), 3u);
  more.push_back(first);
  std::set<uint64_t> cookies;
  for (int fd : more) cookies.insert(SocketCookie(fd));
  EXPECT_EQ(cookies.size(), 4u);
  for (int i = 0; i < 100 && server_->socket_count() != 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->socket_count(), 4u);
  for (int fd : more) close(fd);
  for (int i = 0; i < 100 && server_->socket_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->socket_count(), 0u);  // each went with its last fd
}

// `show sockets` on the daemon's stack names the process and fd holding each socket (as
// `ss -p`): here the test process holds the program's end of the pair.
TEST_F(ServerTest, ShowSocketsNamesTheProcessesHoldingEachSocket) {
  Connected c = ConnectedPair(8090);
  ASSERT_NE(c.peer, nullptr);
  const int dup_fd = dup(c.fd);  // a second fd of the same socket: both are listed
  std::string text;
  RunConsoleCommand(*a_, "show sockets", [&](const std::string& s) {
    text += s;
    return true;
  });
  EXPECT_NE(text.find("Process"), std::string::npos) << text;
  std::string line;  // the connection's row (its peer is B:8090)
  std::istringstream rows(text);
  for (std::string row; std::getline(rows, row);) {
    if (row.find(":8090") != std::string::npos) line = row;
  }
  const std::string me = std::to_string(getpid());
  EXPECT_NE(line.find("ESTABLISHED"), std::string::npos) << text;
  EXPECT_NE(line.find("pid=" + me + ",fd=" + std::to_string(c.fd) + ")"), std::string::npos) << text;
  EXPECT_NE(line.find("pid=" + me + ",fd=" + std::to_string(dup_fd) + ")"), std::string::npos) << text;
  close(dup_fd);
  close(c.fd);
}

// /proc is read as ss reads it: every fd of every process that refers to the inode.
TEST(SocketHoldersTest, FindsEveryFdOfTheSocketInThisProcess) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct stat st{};
  ASSERT_EQ(fstat(sv[1], &st), 0);
  const int copy = dup(sv[1]);
  auto holders = SocketHolders({st.st_ino});
  ASSERT_EQ(holders.count(st.st_ino), 1u);
  const std::string& h = holders[st.st_ino];
  const std::string me = std::to_string(getpid());
  EXPECT_EQ(h.rfind("users:((\"", 0), 0u) << h;
  EXPECT_NE(h.find("pid=" + me + ",fd=" + std::to_string(sv[1]) + ")"), std::string::npos) << h;
  EXPECT_NE(h.find("pid=" + me + ",fd=" + std::to_string(copy) + ")"), std::string::npos) << h;
  EXPECT_EQ(h.find("fd=" + std::to_string(sv[0]) + ")"), std::string::npos) << h;  // the other end
  EXPECT_TRUE(SocketHolders({st.st_ino + 1000000000}).empty());
  close(copy);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace pytcp::pytcpd
