#include "shim/dns_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include "shim/reverse_name.h"

namespace pytcp::shim {
namespace {

constexpr int kMaxCnameLinks = 16;
constexpr size_t kUdpBuffer = 4096;

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint16_t RandomId() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    id = static_cast<uint16_t>(ts.tv_nsec ^ (ts.tv_nsec >> 16) ^ getpid());
  }
  return id;
}

struct ServerSockaddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

ServerSockaddr ToSockaddr(const DnsServer& s) {
  ServerSockaddr out;
  if (s.ip.is_v4()) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(s.port);
    a.sin_addr.s_addr = htonl(s.ip.v4().value());
    std::memcpy(&out.ss, &a, sizeof(a));
    out.len = sizeof(a);
    return out;
  }
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(s.port);
  std::memcpy(a.sin6_addr.s6_addr, s.ip.v6().bytes().data(), 16);
  a.sin6_scope_id = s.scope_id;
  std::memcpy(&out.ss, &a, sizeof(a));
  out.len = sizeof(a);
  out.family = AF_INET6;
  return out;
}

// Waits for `events` on fd until `deadline_ms`; false on timeout or error.
bool WaitFor(int fd, short events, int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class Outcome : uint8_t { kAnswer, kTimeout, kRefused };

struct Exchange {
  Outcome outcome = Outcome::kTimeout;
  std::vector<uint8_t> message;  // an accepted answer
};

Exchange QueryUdp(const DnsServer& server, ByteSpan query, uint16_t id, std::string_view name,
                  DnsType type, int timeout_ms) {
  Exchange ex;
  const ServerSockaddr to = ToSockaddr(server);
  Fd fd(socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return ex;
  // Connected: only datagrams from the server's address and port are delivered, and an
  // ICMP port unreachable comes back as ECONNREFUSED.
  if (connect(fd.get(), to.addr(), to.len) != 0 ||
      send(fd.get(), query.data(), query.size(), 0) != static_cast<ssize_t>(query.size())) {
    ex.outcome = Outcome::kRefused;
    return ex;
  }
  const int64_t deadline = NowMs() + timeout_ms;
  std::vector<uint8_t> buf(kUdpBuffer);
  while (WaitFor(fd.get(), POLLIN, deadline)) {
    const ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == ECONNREFUSED) {
        ex.outcome = Outcome::kRefused;
        return ex;
      }
      continue;
    }
    const ByteSpan msg(buf.data(), static_cast<size_t>(n));
    if (!CheckDnsResponse(msg, id, name, type).ok()) continue;  // not ours: keep waiting
    ex.outcome = Outcome::kAnswer;
    ex.message.assign(msg.begin(), msg.end());
    return ex;
  }
  return ex;
}

bool SendAll(int fd, const uint8_t* p, size_t n, int64_t deadline) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool RecvAll(int fd, uint8_t* p, size_t n, int64_t deadline) {
  while (n > 0) {
    const ssize_t r = recv(fd, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
    } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLIN, deadline)) return false;
    } else {
      return false;  // EOF or error
    }
  }
  return true;
}

// RFC 7766 §8: each message is preceded by its length in two bytes.
Exchange QueryTcp(const DnsServer& server, ByteSpan query, uint16_t id, std::string_view name,
                  DnsType type, int timeout_ms) {
  Exchange ex;
  const ServerSockaddr to = ToSockaddr(server);
  Fd fd(socket(to.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return ex;
  const int64_t deadline = NowMs() + timeout_ms;
  if (connect(fd.get(), to.addr(), to.len) != 0) {
    if (errno != EINPROGRESS || !WaitFor(fd.get(), POLLOUT, deadline)) return ex;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ex.outcome = Outcome::kRefused;
      return ex;
    }
  }
  std::vector<uint8_t> out;
  out.reserve(2 + query.size());
  out.push_back(static_cast<uint8_t>(query.size() >> 8));
  out.push_back(static_cast<uint8_t>(query.size()));
  out.insert(out.end(), query.begin(), query.end());
  if (!SendAll(fd.get(), out.data(), out.size(), deadline)) return ex;
  uint8_t len_bytes[2];
  if (!RecvAll(fd.get(), len_bytes, 2, deadline)) return ex;
  std::vector<uint8_t> msg(LoadBe16(len_bytes));
  if (!RecvAll(fd.get(), msg.data(), msg.size(), deadline)) return ex;
  if (!CheckDnsResponse(ByteSpan(msg.data(), msg.size()), id, name, type).ok()) return ex;
  ex.outcome = Outcome::kAnswer;
  ex.message = std::move(msg);
  return ex;
}

std::string_view StripDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

}  // namespace

Result<DnsView, DnsReject> CheckDnsResponse(ByteSpan message, uint16_t id, std::string_view name,
                                            DnsType type) {
  auto v = DnsView::Parse(message);
  if (!v.ok()) return Err{DnsReject::kMalformed};
  if (!v->is_response()) return Err{DnsReject::kNotResponse};
  if (v->id() != id) return Err{DnsReject::kWrongId};
  if (v->opcode() != DnsOpcode::kQuery) return Err{DnsReject::kWrongOpcode};
  if (v->question_count() != 1) return Err{DnsReject::kWrongQuestion};
  const DnsQuestionView q = *v->questions().begin();
  if (!q.name().Equals(name) || q.type() != type || q.klass() != DnsClass::kIn) {
    return Err{DnsReject::kWrongQuestion};
  }
  return *v;
}

DnsResult ExtractDnsAnswer(const DnsView& view, std::string_view name, DnsType type) {
  DnsResult r;
  std::string target(StripDot(name));
  for (int link = 0; link < kMaxCnameLinks; ++link) {
    bool moved = false;
    for (const DnsRecordView rec : view.answers()) {
      if (rec.klass() != DnsClass::kIn || rec.type() != DnsType::kCname) continue;
      if (!rec.name().Equals(target)) continue;
      if (auto c = rec.cname()) {
        // glibc's getanswer_r: each CNAME owner becomes an alias, its target the name.
        r.aliases.push_back(target);
        target = c->ToString();
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  for (const DnsRecordView rec : view.answers()) {
    if (rec.klass() != DnsClass::kIn || rec.type() != type || !rec.name().Equals(target)) continue;
    if (auto a = rec.a()) r.a.push_back(*a);
    if (auto a6 = rec.aaaa()) r.aaaa.push_back(*a6);
    // RFC 1035 §3.3.12; a CNAME before it is RFC 2317's classless delegation of
    // in-addr.arpa, followed like any other.
    if (auto p = rec.ptr()) r.names.push_back(DnsNameText(*p));
  }
  r.canonical = target;
  r.status = (r.a.empty() && r.aaaa.empty() && r.names.empty()) ? DnsStatus::kNoData
                                                                : DnsStatus::kOk;
  return r;
}

namespace {

// glibc's send_dg: server `ns` of `count` is given timeout << ns, divided by the number of
// servers for all but the first (at least 1 ms here; at least 1 s there, in whole seconds).
int ServerTimeoutMs(int timeout_ms, size_t ns, size_t count) {
  int64_t ms = int64_t{timeout_ms} << std::min<size_t>(ns, 8);
  if (ns > 0) ms /= static_cast<int64_t>(count);
  return static_cast<int>(std::clamp<int64_t>(ms, 1, 3600 * 1000));
}

// "rotate": where the next query starts in the server list (glibc keeps one offset per
// process too).
std::atomic<unsigned> g_rotation{0};

}  // namespace

DnsResult DnsResolve(std::string_view name, DnsType type, const DnsClientOptions& options) {
  DnsResult failed;
  if (options.servers.empty()) {
    failed.status = DnsStatus::kNoServers;
    return failed;
  }
  failed.status = DnsStatus::kTimeout;
  const size_t count = options.servers.size();
  const size_t first = options.rotate ? g_rotation.fetch_add(1, std::memory_order_relaxed) % count : 0;
  uint8_t query[DnsQuery::kMaxSize];
  for (int round = 0; round < std::max(options.attempts, 1); ++round) {
    for (size_t k = 0; k < count; ++k) {
      const size_t ns = (first + k) % count;
      const DnsServer& server = options.servers[ns];
      const int timeout = ServerTimeoutMs(options.timeout_ms, k, count);
      DnsQuery q;
      q.id = RandomId();
      q.name = name;
      q.type = type;
      q.edns_udp_size = options.edns_udp_size;
      auto size = q.Emit(MutableByteSpan(query, sizeof(query)));
      if (!size.ok()) {
        failed.status = DnsStatus::kBadName;
        return failed;
      }
      const ByteSpan bytes(query, *size);
      Exchange ex = QueryUdp(server, bytes, q.id, name, type, timeout);
      if (ex.outcome == Outcome::kAnswer) {
        auto v = DnsView::Parse(ByteSpan(ex.message.data(), ex.message.size()));
        if (v.ok() && v->truncated()) {
          // RFC 7766 §5: the whole answer over TCP, same question, new ID.
          q.id = RandomId();
          size = q.Emit(MutableByteSpan(query, sizeof(query)));
          ex = QueryTcp(server, ByteSpan(query, *size), q.id, name, type, timeout);
        }
      }
      if (ex.outcome == Outcome::kRefused) {
        failed.status = DnsStatus::kServerFailure;
        failed.servfail = false;
        continue;
      }
      if (ex.outcome != Outcome::kAnswer) continue;  // timeout: the next server
      auto v = DnsView::Parse(ByteSpan(ex.message.data(), ex.message.size()));
      if (!v.ok()) continue;
      switch (v->rcode()) {
        case DnsRcode::kNoError:
          return ExtractDnsAnswer(*v, name, type);
        case DnsRcode::kNxDomain: {
          DnsResult r;
          r.status = DnsStatus::kNxDomain;
          return r;
        }
        case DnsRcode::kServFail:
        case DnsRcode::kNotImp:
        case DnsRcode::kRefused:
          // res_send.c: another server may do better.
          failed.status = DnsStatus::kServerFailure;
          failed.servfail = v->rcode() == DnsRcode::kServFail;
          break;
        default: {  // FORMERR and the rest: glibc takes the answer (NO_RECOVERY)
          DnsResult r;
          r.status = DnsStatus::kNoRecovery;
          return r;
        }
      }
    }
  }
  return failed;
}

}  // namespace pytcp::shim
