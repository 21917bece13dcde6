#include "shim/fd_table.h"

#include <algorithm>
#include <new>

namespace pytcp::shim {
namespace {
std::atomic<uint32_t> g_fork_generation{0};
}  // namespace

uint32_t ForkGeneration() noexcept { return g_fork_generation.load(std::memory_order_relaxed); }
void AdvanceForkGeneration() noexcept { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

FdTable& FdTable::Get() noexcept {
  // Never destroyed: interposed calls keep arriving during exit, after static destructors.
  static FdTable* table = new FdTable();
  return *table;
}

FdTable::Entry* FdTable::EntryFor(int fd, bool create) {
  if (fd < 0 || fd >= kMaxFd) return nullptr;
  std::atomic<Chunk*>& slot = chunks_[fd >> kChunkBits];
  Chunk* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    if (!create) return nullptr;
    std::lock_guard lock(grow_mu_);
    c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {
      c = new (std::nothrow) Chunk();
      if (c == nullptr) return nullptr;
      slot.store(c, std::memory_order_release);
    }
  }
  return &c->entries[fd & kChunkMask];
}

const FdTable::Entry* FdTable::EntryFor(int fd) const {
  if (fd < 0 || fd >= kMaxFd) return nullptr;
  const Chunk* c = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
  return c == nullptr ? nullptr : &c->entries[fd & kChunkMask];
}

std::shared_ptr<FdObject> FdTable::Lookup(int fd) const {
  const Entry* e = EntryFor(fd);
  if (e == nullptr || e->kind.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard lock(shard(fd));
  return e->obj;
}

bool FdTable::Install(int fd, std::shared_ptr<FdObject> obj, bool cloexec) {
  Entry* e = EntryFor(fd, /*create=*/true);
  if (e == nullptr) return false;
  obj->fd_refs_.fetch_add(1, std::memory_order_relaxed);
  const auto kind = static_cast<uint8_t>(obj->kind());
  std::lock_guard lock(shard(fd));
  e->obj = std::move(obj);
  e->cloexec = cloexec;
  e->kind.store(kind, std::memory_order_release);
  return true;
}

bool FdTable::Remove(int fd) {
  Entry* e = EntryFor(fd, /*create=*/false);
  if (e == nullptr) return false;
  std::shared_ptr<FdObject> obj;
  {
    std::lock_guard lock(shard(fd));
    if (e->kind.load(std::memory_order_relaxed) == 0) return false;
    e->kind.store(0, std::memory_order_release);
    e->cloexec = false;
    obj = std::move(e->obj);
    e->obj.reset();
  }
  if (obj != nullptr && obj->fd_refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    obj->OnLastFdClosed();
  }
  return true;
}

bool FdTable::cloexec(int fd) const {
  const Entry* e = EntryFor(fd);
  if (e == nullptr) return false;
  std::lock_guard lock(shard(fd));
  return e->cloexec;
}

void FdTable::set_cloexec(int fd, bool on) {
  Entry* e = EntryFor(fd, /*create=*/false);
  if (e == nullptr) return;
  std::lock_guard lock(shard(fd));
  if (e->kind.load(std::memory_order_relaxed) != 0) e->cloexec = on;
}

std::vector<int> FdTable::FdsInRange(int lo, int hi) const {
  std::vector<int> out;
  if (lo < 0) lo = 0;
  if (hi >= kMaxFd) hi = kMaxFd - 1;
  for (int chunk = lo >> kChunkBits; lo <= hi && chunk <= (hi >> kChunkBits); ++chunk) {
    const Chunk* c = chunks_[chunk].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    const int first = std::max(lo, chunk << kChunkBits);
    const int last = std::min(hi, ((chunk + 1) << kChunkBits) - 1);
    for (int fd = first; fd <= last; ++fd) {
      if (c->entries[fd & kChunkMask].kind.load(std::memory_order_acquire) != 0) out.push_back(fd);
    }
  }
  return out;
}

void FdTable::LockForFork() {
  grow_mu_.lock();
  for (auto& m : shards_) m.lock();
}

void FdTable::UnlockAfterFork() {
  for (auto& m : shards_) m.unlock();
  grow_mu_.unlock();
}

}  // namespace pytcp::shim
