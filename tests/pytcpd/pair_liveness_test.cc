// PairLiveness against the kernel's own unix sockets: POLLHUP on the daemon's end means a
// last close only when the program's end has gone from the kernel's table.
#include "pytcpd/pair_liveness.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pytcpd/protocol.h"

namespace pytcp::pytcpd {
namespace {

struct End {
  ino_t ino = 0;
  uint64_t cookie = 0;
};

End Identify(int fd) {
  struct stat st{};
  EXPECT_EQ(fstat(fd, &st), 0);
  return End{st.st_ino, SocketCookie(fd)};
}

class PairLivenessTest : public ::testing::TestWithParam<int> {};

TEST_P(PairLivenessTest, BothDirectionsShutIsAliveALastCloseIsNot) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, GetParam() | SOCK_CLOEXEC, 0, sv), 0);
  const End program = Identify(sv[1]);
  PairLiveness live;
  EXPECT_TRUE(live.Alive(program.ino, program.cookie));
  // Both directions shut: the daemon's end polls POLLHUP, the program still holds it.
  ASSERT_EQ(shutdown(sv[0], SHUT_WR), 0);
  ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
  EXPECT_TRUE(live.Alive(program.ino, program.cookie));
  // A second fd (a fork's or an SCM_RIGHTS copy) keeps it alive past one close.
  const int copy = dup(sv[1]);
  ASSERT_GE(copy, 0);
  close(sv[1]);
  EXPECT_TRUE(live.Alive(program.ino, program.cookie));
  close(copy);
  EXPECT_FALSE(live.Alive(program.ino, program.cookie));
  close(sv[0]);
}

TEST_P(PairLivenessTest, AnotherSocketsCookieIsNotThisOne) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, GetParam() | SOCK_CLOEXEC, 0, sv), 0);
  const End program = Identify(sv[1]);
  PairLiveness live;
  EXPECT_FALSE(live.Alive(program.ino, program.cookie + 1));
  close(sv[0]);
  close(sv[1]);
}

INSTANTIATE_TEST_SUITE_P(StreamAndSeqpacket, PairLivenessTest,
                         ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET));

}  // namespace
}  // namespace pytcp::pytcpd
