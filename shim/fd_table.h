// The fd table: which file descriptor numbers name objects of the shim (stack sockets and
// epoll sets that watch stack sockets), and the per-fd state the kernel would keep for a
// real socket (FD_CLOEXEC).
//
// Every such fd is a real kernel fd (an eventfd placeholder for a socket, the kernel epoll
// fd for an epoll set), so numbers never collide with files and close/dup/exec behave.
// Several fds (dup) may name one object; the object learns when the last one is closed.
//
// Lookup is O(1) and thread-safe: a two-level array indexed by fd number. The question
// every interposed call asks first, "is this fd ours?", is two atomic loads and no lock,
// which is what keeps calls on files, pipes and kernel sockets at libc speed. Taking a
// reference to an object (to use it) locks one of a few shard mutexes for a moment.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace pytcp::shim {

// kSocket: a socket of the in-process stack (ShimSocket); kRemote: a socket of the shared
// stack, the fd being the program's end of its pair (RemoteSocket); kEpoll: an epoll set.
// kNetlink: a NETLINK_ROUTE socket, the kernel's own (netlink_socket.h).
enum class FdKind : uint8_t { kNone = 0, kSocket = 1, kEpoll = 2, kRemote = 3, kNetlink = 4 };

// Incremented in the child of every fork(): objects created before it belong to the
// parent's stack, which the child must never touch (see runtime.h).
uint32_t ForkGeneration() noexcept;
void AdvanceForkGeneration() noexcept;

class FdObject {
 public:
  explicit FdObject(FdKind kind) : kind_(kind), generation_(ForkGeneration()) {}
  virtual ~FdObject() = default;
  FdObject(const FdObject&) = delete;
  FdObject& operator=(const FdObject&) = delete;

  FdKind kind() const { return kind_; }
  // Inherited from the parent across fork(): unusable here.
  bool inherited() const { return generation_ != ForkGeneration(); }

  // Called once, after the table removed the last fd naming the object (before the kernel
  // fd is closed, so the number cannot be reused meanwhile).
  virtual void OnLastFdClosed() = 0;

 private:
  friend class FdTable;
  const FdKind kind_;
  const uint32_t generation_;
  std::atomic<int> fd_refs_{0};
};

class FdTable {
 public:
  // fds at or above this are never ours (socket() fails with EMFILE instead).
  static constexpr int kChunkBits = 10;
  static constexpr int kChunks = 4096;
  static constexpr int kMaxFd = kChunks << kChunkBits;

  static FdTable& Get() noexcept;

  // Lock-free: what `fd` is (kNone for anything that is not ours).
  FdKind Kind(int fd) const noexcept {
    if (fd < 0 || fd >= kMaxFd) return FdKind::kNone;
    const Chunk* c = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
    if (c == nullptr) return FdKind::kNone;
    return static_cast<FdKind>(c->entries[fd & kChunkMask].kind.load(std::memory_order_acquire));
  }

  // The object named by `fd` (nullptr when none).
  std::shared_ptr<FdObject> Lookup(int fd) const;
  template <typename T>
  std::shared_ptr<T> LookupAs(int fd, FdKind kind) const {
    if (Kind(fd) != kind) return nullptr;
    return std::static_pointer_cast<T>(Lookup(fd));
  }

  // Names `obj` by `fd` (which must not be ours yet). False when fd >= kMaxFd or memory
  // ran out.
  bool Install(int fd, std::shared_ptr<FdObject> obj, bool cloexec);
  // Forgets `fd`; when it was the object's last fd, calls obj->OnLastFdClosed(). The caller
  // closes the kernel fd afterwards. Returns false when `fd` was not ours.
  bool Remove(int fd);

  // FD_CLOEXEC as the program set it. An in-process stack socket's kernel fd is always
  // close-on-exec (it cannot survive exec, and a clean EBADF in the new image beats an
  // eventfd posing as a socket); a shared-stack socket's pair end carries the program's
  // FD_CLOEXEC in the kernel too, since it does survive exec.
  bool cloexec(int fd) const;
  void set_cloexec(int fd, bool on);

  // Our fds in [lo, hi], ascending (close_range, closefrom).
  std::vector<int> FdsInRange(int lo, int hi) const;

  // fork(): the prepare handler takes every lock so that the child starts with none held.
  void LockForFork();
  void UnlockAfterFork();

 private:
  static constexpr int kChunkMask = (1 << kChunkBits) - 1;
  static constexpr int kShards = 64;
  struct Entry {
    std::atomic<uint8_t> kind{0};
    bool cloexec = false;
    std::shared_ptr<FdObject> obj;  // guarded by the shard mutex of the fd
  };
  struct Chunk {
    Entry entries[1 << kChunkBits];
  };

  FdTable() = default;
  Entry* EntryFor(int fd, bool create);
  const Entry* EntryFor(int fd) const;
  std::mutex& shard(int fd) const { return shards_[fd & (kShards - 1)]; }

  std::atomic<Chunk*> chunks_[kChunks] = {};
  std::mutex grow_mu_;
  mutable std::mutex shards_[kShards];
};

}  // namespace pytcp::shim
