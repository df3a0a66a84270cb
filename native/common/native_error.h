// Errors raised by native code. Core classes (no N-API) return or throw NativeError; bindings turn
// it into a JS Error on the JS thread (see ToJsError), where the TypeScript layer wraps it into a
// TrickleError with the same stable `code`.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace trickle {

struct NativeError {
  std::string code;     // stable code listed in docs/errors.md, e.g. "ERR_DECODE"
  std::string message;  // human-readable, says what failed and, where possible, the remedy
  std::string op;       // the native operation that failed, e.g. "avcodec_send_packet"
  int64_t native_code = 0;  // AVERROR, CUresult, cudaError_t, TensorRT status ...
  bool has_native_code = false;
};

// Exception type used inside core classes. Carries a NativeError across threads by value.
class NativeException : public std::runtime_error {
 public:
  explicit NativeException(NativeError error)
      : std::runtime_error(error.message), error_(std::move(error)) {}
  NativeException(std::string code, std::string message, std::string op = {})
      : std::runtime_error(message), error_{std::move(code), std::move(message), std::move(op)} {}
  NativeException(std::string code, std::string message, std::string op, int64_t native_code)
      : std::runtime_error(message),
        error_{std::move(code), std::move(message), std::move(op), native_code, true} {}
  const NativeError& error() const noexcept { return error_; }

 private:
  NativeError error_;
};

}  // namespace trickle
