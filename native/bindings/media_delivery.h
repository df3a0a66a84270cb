// Bounded delivery from a pipeline thread (decoder, encoder) to JS. JS thread + one producer thread.
//
// A ThreadSafeFunction's own queue bound only blocks the producer until the event loop *dispatches*
// an item, and the JS side must accept every dispatched item; so the real bound is a credit count:
// the producer takes one credit per item it sends (blocking while none is left) and JS gives credits
// back (`ack(n)`) when the consumer actually takes items out of its queue. The producer therefore
// never runs more than `max` items ahead of the consumer, and the event loop never blocks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace trickle {

class CreditGate {
 public:
  explicit CreditGate(int max) : max_(max < 1 ? 1 : max) {}
  // Producer thread: blocks until a credit is free; false when cancelled.
  bool Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || outstanding_ < max_; });
    if (cancelled_) return false;
    ++outstanding_;
    return true;
  }
  // JS thread: the consumer took `n` items.
  void Release(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    outstanding_ = outstanding_ > n ? outstanding_ - n : 0;
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  int outstanding() const {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }

 private:
  const int max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int outstanding_ = 0;
  bool cancelled_ = false;
};

}  // namespace trickle
