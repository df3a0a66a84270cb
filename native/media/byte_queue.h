// A bounded FIFO of bytes between the JS thread (producer: Decoder.push) and the decode thread
// (consumer: the AVIOContext read callback). Thread-safe.
//
// Bounding: Push() always accepts the chunk (copying it; the JS Buffer is not retained) and returns
// whether the queue is still below its capacity. When it returns false the producer must wait for
// the `on_writable` callback (fired once, from the consumer thread, when the queue drains below half
// its capacity) before pushing again: that is the backpressure. So memory is bounded by capacity plus
// one chunk. Read() blocks the consumer until bytes, end of input or cancellation arrive; TryRead()
// takes only what is already there. Each chunk keeps the time it was pushed, so the consumer knows
// how long the bytes it reads waited (the input backlog's age).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace trickle {

class ByteQueue {
 public:
  enum class ReadStatus { kData, kEnd, kCancelled, kEmpty /* TryRead only: nothing there yet */ };
  using Clock = std::chrono::steady_clock;

  explicit ByteQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;

  // Called (on the consumer thread, without the lock held) when a producer that was told to wait
  // may push again. Set before the consumer starts.
  void SetOnWritable(std::function<void()> fn) { on_writable_ = std::move(fn); }

  // Producer side. Returns false when the producer should wait for on_writable. Bytes pushed after
  // End() or Cancel() are dropped (returns true: nothing to wait for).
  bool Push(const uint8_t* data, size_t size);
  void End();
  void Cancel();

  // Consumer side: copies up to `size` bytes into `out`. Blocks while the queue is empty and open.
  // `pushed_at` (optional): when the last chunk read from was pushed.
  ReadStatus Read(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at = nullptr);
  // Like Read() but never waits: kEmpty when the queue is empty and open.
  ReadStatus TryRead(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at = nullptr);

  size_t buffered() const;
  uint64_t total_pushed() const;
  bool ended() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Chunk {
    std::vector<uint8_t> bytes;
    Clock::time_point pushed_at;
  };
  ReadStatus TakeLocked(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at, bool* notify_writable);
  std::deque<Chunk> chunks_;
  size_t head_offset_ = 0;  // bytes of chunks_.front() already read
  size_t buffered_ = 0;
  uint64_t total_pushed_ = 0;
  bool ended_ = false;
  bool cancelled_ = false;
  bool producer_waiting_ = false;
  std::function<void()> on_writable_;
};

}  // namespace trickle
