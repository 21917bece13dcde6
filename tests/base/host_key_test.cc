#include "stack/base/host_key.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace pytcp {
namespace {

class HostKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/pytcp-hostkey-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    boot_ = dir_ + "/boot_id";
    SetBoot("2f1c5a3e-0000-4000-8000-000000000001");
  }
  void TearDown() override { (void)system(("rm -rf '" + dir_ + "'").c_str()); }
  void SetBoot(const std::string& id) { std::ofstream(boot_) << id << "\n"; }
  std::string Path() const { return dir_ + "/run/tcp-key"; }

  std::string dir_, boot_;
};

TEST_F(HostKeyTest, CreatedOnceAsAPrivateFileThenReadBack) {
  auto a = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(a.ok()) << a.status();
  struct stat st{};
  ASSERT_EQ(stat(Path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto b = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, HostKey{});
}

TEST_F(HostKeyTest, AnotherBootsKeyIsReplaced) {
  auto a = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(a.ok());
  SetBoot("2f1c5a3e-0000-4000-8000-000000000002");
  auto b = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  auto c = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*b, *c);
}

TEST_F(HostKeyTest, AKeyOthersCanReadIsRefused) {
  ASSERT_TRUE(LoadOrCreateHostKey(Path(), boot_).ok());
  ASSERT_EQ(chmod(Path().c_str(), 0644), 0);
  EXPECT_FALSE(LoadOrCreateHostKey(Path(), boot_).ok());
}

TEST_F(HostKeyTest, ADamagedFileIsReplaced) {
  ASSERT_TRUE(LoadOrCreateHostKey(Path(), boot_).ok());
  { std::ofstream(Path(), std::ios::trunc) << "pytcp-host-key 1\nboot x\n"; }
  auto k = LoadOrCreateHostKey(Path(), boot_);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*LoadOrCreateHostKey(Path(), boot_), *k);
}

TEST_F(HostKeyTest, FailsWhereNoFileCanBeMade) {
  std::ofstream(dir_ + "/file") << "x";
  EXPECT_FALSE(LoadOrCreateHostKey(dir_ + "/file/tcp-key", boot_).ok());
  EXPECT_FALSE(LoadOrCreateHostKey(Path(), dir_ + "/no-boot-id").ok());
}

TEST_F(HostKeyTest, ProgramsStartingTogetherAgreeOnOneKey) {
  // Forked children race to create the file; all must end with the same key.
  constexpr int kChildren = 6;
  int fds[kChildren][2];
  for (int i = 0; i < kChildren; ++i) {
    ASSERT_EQ(pipe(fds[i]), 0);
    if (fork() == 0) {
      auto k = LoadOrCreateHostKey(Path(), boot_);
      HostKey out{};
      if (k.ok()) out = *k;
      (void)!write(fds[i][1], out.data(), out.size());
      _exit(0);
    }
  }
  HostKey first{};
  for (int i = 0; i < kChildren; ++i) {
    HostKey k{};
    ASSERT_EQ(read(fds[i][0], k.data(), k.size()), static_cast<ssize_t>(k.size()));
    close(fds[i][0]);
    close(fds[i][1]);
    EXPECT_NE(k, HostKey{});
    if (i == 0) first = k;
    EXPECT_EQ(k, first);
  }
  while (wait(nullptr) > 0) {
  }
}

}  // namespace
}  // namespace pytcp
