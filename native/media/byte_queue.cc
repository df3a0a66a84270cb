#include "media/byte_queue.h"

#include <algorithm>
#include <cstring>

namespace trickle {

bool ByteQueue::Push(const uint8_t* data, size_t size) {
  // Copied before the lock is taken: the consumer never waits for the copy.
  Chunk chunk{std::vector<uint8_t>(data, data + size), Clock::now()};
  bool has_room = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_ || cancelled_) return true;
    if (size > 0) {
      chunks_.push_back(std::move(chunk));
      buffered_ += size;
      total_pushed_ += size;
    }
    if (buffered_ >= capacity_) {
      producer_waiting_ = true;
      has_room = false;
    }
  }
  // Woken after the lock is released: a consumer woken under it would only block on the mutex
  // again (two more context switches per chunk).
  if (size > 0) cv_.notify_all();
  return has_room;
}

void ByteQueue::End() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

void ByteQueue::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  chunks_.clear();
  buffered_ = 0;
  head_offset_ = 0;
  cv_.notify_all();
}

ByteQueue::ReadStatus ByteQueue::TakeLocked(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at,
                                            bool* notify_writable) {
  if (cancelled_) return ReadStatus::kCancelled;
  if (buffered_ == 0) return ended_ ? ReadStatus::kEnd : ReadStatus::kEmpty;
  while (*n < size && !chunks_.empty()) {
    Chunk& front = chunks_.front();
    const size_t take = std::min(size - *n, front.bytes.size() - head_offset_);
    std::memcpy(out + *n, front.bytes.data() + head_offset_, take);
    *n += take;
    head_offset_ += take;
    if (pushed_at) *pushed_at = front.pushed_at;
    if (head_offset_ == front.bytes.size()) {
      chunks_.pop_front();
      head_offset_ = 0;
    }
  }
  buffered_ -= *n;
  if (producer_waiting_ && buffered_ <= capacity_ / 2) {
    producer_waiting_ = false;
    *notify_writable = true;
  }
  return ReadStatus::kData;
}

ByteQueue::ReadStatus ByteQueue::Read(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at) {
  *n = 0;
  bool notify_writable = false;
  ReadStatus status;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || ended_ || buffered_ > 0; });
    status = TakeLocked(out, size, n, pushed_at, &notify_writable);
  }
  if (notify_writable && on_writable_) on_writable_();
  return status;
}

ByteQueue::ReadStatus ByteQueue::TryRead(uint8_t* out, size_t size, size_t* n, Clock::time_point* pushed_at) {
  *n = 0;
  bool notify_writable = false;
  ReadStatus status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status = TakeLocked(out, size, n, pushed_at, &notify_writable);
  }
  if (notify_writable && on_writable_) on_writable_();
  return status;
}

size_t ByteQueue::buffered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffered_;
}

uint64_t ByteQueue::total_pushed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_pushed_;
}

bool ByteQueue::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

}  // namespace trickle
