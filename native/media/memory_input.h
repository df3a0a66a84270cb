// An FFmpeg input (AVFormatContext + custom AVIOContext) reading from a caller-owned, immutable
// memory block. Used for one-shot jobs over a whole Buffer (probe, summary decode). The streaming
// decoder uses its own bounded byte queue instead.
// Threading: owned by one thread at a time; the memory block must outlive the object.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/ffmpeg_handles.h"

namespace trickle {

class MemoryInput {
 public:
  // Opens and probes the container (avformat_open_input + avformat_find_stream_info).
  // Throws NativeException ERR_DEMUX when the bytes are not a readable container.
  MemoryInput(const uint8_t* data, size_t size);
  MemoryInput(const MemoryInput&) = delete;
  MemoryInput& operator=(const MemoryInput&) = delete;

  AVFormatContext* format() const { return format_.get(); }

 private:
  static int Read(void* opaque, uint8_t* buf, int size);
  static int64_t Seek(void* opaque, int64_t offset, int whence);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  UniqueAVIOContext io_;  // declared before format_: destroyed after it
  UniqueAVInputFormatContext format_;
};

}  // namespace trickle
