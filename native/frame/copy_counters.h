// Process-wide counters of whole-buffer copies made by trickle-rt's frame and tensor code (the bench
// reports "host copies per frame" from them). Lock-free, any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace trickle {

enum class CopyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice, kHostToHost };

struct CopyCounterValues {
  uint64_t host_to_device = 0, device_to_host = 0, device_to_device = 0, host_to_host = 0;
  uint64_t host_to_device_bytes = 0, device_to_host_bytes = 0, device_to_device_bytes = 0, host_to_host_bytes = 0;
};

// Counts one logical copy (a frame with all its planes, or one tensor) of `bytes`.
void CountCopy(CopyKind kind, size_t bytes);
CopyCounterValues ReadCopyCounters();
void ResetCopyCounters();

}  // namespace trickle
