// The rules of stack/base/private_file.h, each against the attack it stops. Run with umask
// 000 so that a 0600 result is the code's doing, not the environment's.
#include "stack/base/private_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace pytcp {
namespace {

class PrivateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = umask(0);
    char tmpl[] = "/tmp/pytcp-private-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    umask(old_umask_);
    [[maybe_unused]] int r = system(("rm -rf " + dir_).c_str());
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static mode_t Mode(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string Read(const std::string& path) {
    std::stringstream ss;
    ss << std::ifstream(path).rdbuf();
    return ss.str();
  }

  mode_t old_umask_ = 0;
  std::string dir_;
};

TEST_F(PrivateFileTest, CreatesOwnerOnlyDespiteAnOpenUmask) {
  auto fd = OpenOwnFile(Path("new.pcap"), O_WRONLY, true);
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);
  EXPECT_EQ(Mode(Path("new.pcap")), 0600u);
}

TEST_F(PrivateFileTest, RefusesASymlinkAndLeavesItsTargetAlone) {
  Write(Path("victim"), "keep");
  ASSERT_EQ(symlink(Path("victim").c_str(), Path("link").c_str()), 0);
  auto fd = OpenOwnFile(Path("link"), O_WRONLY, true);
  EXPECT_FALSE(fd.ok());
  EXPECT_NE(std::string(fd.status().message()).find("symlink"), std::string::npos) << fd.status();
  EXPECT_EQ(Read(Path("victim")), "keep");
  EXPECT_FALSE(OpenOwnFileForReading(Path("link")).ok());
}

TEST_F(PrivateFileTest, RefusesAHardLinkedFile) {
  Write(Path("victim"), "keep");
  ASSERT_EQ(link(Path("victim").c_str(), Path("hard").c_str()), 0);
  auto fd = OpenOwnFile(Path("hard"), O_WRONLY, true);
  EXPECT_FALSE(fd.ok());
  EXPECT_EQ(Read(Path("victim")), "keep");
}

TEST_F(PrivateFileTest, AnOwnFileIsMadeOwnerOnlyThenTruncated) {
  Write(Path("old"), "old contents");
  chmod(Path("old").c_str(), 0644);
  auto fd = OpenOwnFile(Path("old"), O_WRONLY, true);
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);
  EXPECT_EQ(Mode(Path("old")), 0600u);
  EXPECT_EQ(Read(Path("old")), "");
}

TEST_F(PrivateFileTest, ReplaceSwapsASymlinkForAFileWithoutFollowingIt) {
  Write(Path("victim"), "keep");
  ASSERT_EQ(symlink(Path("victim").c_str(), Path("lease").c_str()), 0);
  ASSERT_TRUE(ReplaceOwnFile(Path("lease"), "lease 1\n").ok());
  EXPECT_EQ(Read(Path("victim")), "keep");
  EXPECT_EQ(Read(Path("lease")), "lease 1\n");
  EXPECT_EQ(Mode(Path("lease")), 0600u);
  EXPECT_NE(access((Path("lease") + ".tmp." + std::to_string(getpid())).c_str(), F_OK), 0);
}

TEST_F(PrivateFileTest, OwnDirectoryIsMadeOwnerOnlyAndCheckedWhenPresent) {
  ASSERT_TRUE(EnsureOwnDirectory(Path("run")).ok());
  EXPECT_EQ(Mode(Path("run")), 0700u);
  EXPECT_TRUE(EnsureOwnDirectory(Path("run")).ok());
  ASSERT_EQ(mkdir(Path("open").c_str(), 0777), 0);
  EXPECT_FALSE(EnsureOwnDirectory(Path("open")).ok());
  ASSERT_EQ(symlink(Path("run").c_str(), Path("to-run").c_str()), 0);
  EXPECT_FALSE(EnsureOwnDirectory(Path("to-run")).ok());
}

TEST_F(PrivateFileTest, SocketIsBoundOwnerOnlyAndOnlyAStaleSocketIsReplaced) {
  const int a = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_TRUE(BindUnixSocket(a, Path("s.sock"), 0600).ok());
  EXPECT_EQ(Mode(Path("s.sock")), 0600u);
  close(a);  // the node stays behind: a stale socket
  const int b = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_TRUE(BindUnixSocket(b, Path("s.sock"), 0600).ok());
  close(b);
  Write(Path("file"), "keep");
  const int c = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FALSE(BindUnixSocket(c, Path("file"), 0600).ok());
  EXPECT_EQ(Read(Path("file")), "keep");
  close(c);
}

}  // namespace
}  // namespace pytcp
