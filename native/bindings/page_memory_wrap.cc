// Page memory for the trickle server's segment slabs, and the early release of a body chunk's
// memory (src/trickle-server/slab-memory.ts). JS thread only.
//
//   mapPages(bytes) -> ArrayBuffer        bytes: a positive multiple of pageSize; unmapped when
//                                         the ArrayBuffer is garbage-collected
//   discardPages(arrayBuffer, offset, length)
//                                         page-aligned range of a mapPages buffer: its pages leave
//                                         the RSS now and read as zeros until written again
//   releaseArrayBuffer(arrayBuffer) -> boolean
//                                         detaches it, freeing its memory now instead of at a
//                                         garbage collection; false when it cannot be detached
//   pageSize                              the system page size
#include <cerrno>
#include <cstring>
#include <string>

#include "bindings/bindings.h"
#include "common/js_error.h"
#include "common/page_memory.h"

namespace trickle {
namespace {

// One mapping is at most this large (the server maps 4 MiB regions).
constexpr double kMaxMapBytes = 1024.0 * 1024 * 1024;

size_t PageMultiple(const Napi::CallbackInfo& info, size_t i, const char* what, bool allowZero) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowTypeError(info.Env(), std::string(what) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  const double page = static_cast<double>(PageSize());
  if (!(v >= (allowZero ? 0 : page)) || v > kMaxMapBytes || v != static_cast<double>(static_cast<size_t>(v)) ||
      static_cast<size_t>(v) % PageSize() != 0) {
    ThrowTypeError(info.Env(), std::string(what) + " must be a " + (allowZero ? "non-negative" : "positive") +
                                   " multiple of the page size (" + std::to_string(PageSize()) + ") up to 1 GiB, got " +
                                   Napi::Number::New(info.Env(), v).ToString().Utf8Value());
  }
  return static_cast<size_t>(v);
}

Napi::Value MapPagesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = PageMultiple(info, 0, "bytes", false);
  void* base = MapPages(bytes);
  if (base == nullptr) {
    const int err = errno;
    NativeError e{"ERR_OUT_OF_MEMORY", "mmap of " + std::to_string(bytes) + " bytes failed: " + std::strerror(err), "mapPages"};
    throw ToJsError(env, e);
  }
  return Napi::ArrayBuffer::New(
      env, base, bytes, [](Napi::Env, void* data, size_t* size) {
        UnmapPages(data, *size);
        delete size;
      },
      new size_t(bytes));
}

Napi::Value DiscardPagesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) ThrowTypeError(env, "discardPages: expected an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  const size_t offset = PageMultiple(info, 1, "offset", true);
  const size_t length = PageMultiple(info, 2, "length", true);
  auto* base = static_cast<char*>(ab.Data());
  if (base == nullptr || offset + length > ab.ByteLength()) ThrowTypeError(env, "discardPages: range outside the buffer");
  if (reinterpret_cast<uintptr_t>(base) % PageSize() != 0) ThrowTypeError(env, "discardPages: not a mapPages buffer (not page-aligned)");
  if (length > 0 && !DiscardPages(base + offset, length)) {
    const int err = errno;
    NativeError e{"ERR_NATIVE", std::string("madvise failed: ") + std::strerror(err), "discardPages"};
    throw ToJsError(env, e);
  }
  return env.Undefined();
}

Napi::Value ReleaseArrayBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) ThrowTypeError(env, "releaseArrayBuffer: expected an ArrayBuffer");
  napi_value ab = info[0];
  // napi_detach_arraybuffer refuses buffers V8 marks as not detachable (e.g. WebAssembly memory).
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitPageMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("mapPages", Napi::Function::New(env, MapPagesJs, "mapPages"));
  exports.Set("discardPages", Napi::Function::New(env, DiscardPagesJs, "discardPages"));
  exports.Set("releaseArrayBuffer", Napi::Function::New(env, ReleaseArrayBufferJs, "releaseArrayBuffer"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
}

}  // namespace trickle
