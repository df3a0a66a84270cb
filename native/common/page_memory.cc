#include "common/page_memory.h"

#include <sys/mman.h>
#include <unistd.h>

namespace trickle {

size_t PageSize() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

void* MapPages(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void UnmapPages(void* base, size_t bytes) { munmap(base, bytes); }

bool DiscardPages(void* base, size_t bytes) { return madvise(base, bytes, MADV_DONTNEED) == 0; }

}  // namespace trickle
