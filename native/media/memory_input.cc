#include "media/memory_input.h"

#include <algorithm>
#include <cstring>

namespace trickle {

namespace {
constexpr int kIoBufferSize = 64 * 1024;
}

MemoryInput::MemoryInput(const uint8_t* data, size_t size) : data_(data), size_(size) {
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  if (!buffer) throw NativeException("ERR_OUT_OF_MEMORY", "av_malloc failed", "av_malloc");
  io_.reset(avio_alloc_context(buffer, kIoBufferSize, 0, this, &MemoryInput::Read, nullptr, &MemoryInput::Seek));
  if (!io_) {
    av_free(buffer);
    throw NativeException("ERR_OUT_OF_MEMORY", "avio_alloc_context failed", "avio_alloc_context");
  }
  AVFormatContext* fmt = avformat_alloc_context();
  if (!fmt) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_alloc_context failed", "avformat_alloc_context");
  fmt->pb = io_.get();
  fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  int ret = avformat_open_input(&fmt, nullptr, nullptr, nullptr);  // frees fmt on failure
  if (ret < 0) {
    throw NativeException("ERR_DEMUX", "not a readable media container: " + AvErrorString(ret), "avformat_open_input",
                          ret);
  }
  format_.reset(fmt);
  ret = avformat_find_stream_info(fmt, nullptr);
  ThrowIfAvError(ret, "ERR_DEMUX", "avformat_find_stream_info");
}

int MemoryInput::Read(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<MemoryInput*>(opaque);
  if (self->pos_ >= self->size_) return AVERROR_EOF;
  const size_t n = std::min(static_cast<size_t>(size), self->size_ - self->pos_);
  std::memcpy(buf, self->data_ + self->pos_, n);
  self->pos_ += n;
  return static_cast<int>(n);
}

int64_t MemoryInput::Seek(void* opaque, int64_t offset, int whence) {
  auto* self = static_cast<MemoryInput*>(opaque);
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE) return static_cast<int64_t>(self->size_);
  int64_t base = 0;
  if (whence == SEEK_CUR) base = static_cast<int64_t>(self->pos_);
  else if (whence == SEEK_END) base = static_cast<int64_t>(self->size_);
  else if (whence != SEEK_SET) return AVERROR(EINVAL);
  const int64_t target = base + offset;
  if (target < 0 || target > static_cast<int64_t>(self->size_)) return AVERROR(EINVAL);
  self->pos_ = static_cast<size_t>(target);
  return target;
}

}  // namespace trickle
