// The TensorRT runtime, loaded with dlopen at first use. Only the C factory symbols are looked up
// (createInferRuntime_INTERNAL, createInferBuilder_INTERNAL, getInferLibVersion from
// libnvinfer.so.N; createNvOnnxParser_INTERNAL from libnvonnxparser.so.N); everything else is a
// virtual call on the objects they return, so the addon has no link-time dependency on TensorRT.
// N is the major version of the headers the addon was compiled with (10 or 11).
//
// Thread-safe: each library is loaded once (std::call_once) and stays loaded for the life of the
// process (TensorRT objects may be alive until exit; unloading would leave their vtables dangling).
// Compiled in both builds; without TRICKLE_HAVE_TENSORRT every load reports "built without TensorRT".
#pragma once

#include <cstdint>
#include <string>

namespace trickle {

struct TensorRtLibrary {
  // void* (void* logger, int32_t version): the raw factories behind nvinfer1::createInferRuntime /
  // createInferBuilder. `version` is NV_TENSORRT_VERSION of the headers.
  using CreateFn = void* (*)(void*, int32_t);
  using VersionFn = int32_t (*)();

  std::string soname;       // "libnvinfer.so.10"
  int version = 0;          // getInferLibVersion(): MAJOR*10000 + MINOR*100 + PATCH
  CreateFn create_runtime = nullptr;
  CreateFn create_builder = nullptr;
};

struct OnnxParserLibrary {
  // void* (void* network, void* logger, int version): the factory behind nvonnxparser::createParser.
  using CreateFn = void* (*)(void*, void*, int);
  std::string soname;       // "libnvonnxparser.so.10"
  CreateFn create_parser = nullptr;
};

// Returns the loaded runtime, or nullptr with `*reason` set (library missing, symbol missing,
// major version different from the headers', or built without TensorRT). The result is cached.
const TensorRtLibrary* LoadTensorRt(std::string* reason);

// Same for the ONNX parser, which only Engine.load of an .onnx file needs.
const OnnxParserLibrary* LoadOnnxParser(std::string* reason);

// "10.16.0" from getInferLibVersion()'s encoding.
std::string TensorRtVersionString(int encoded);

}  // namespace trickle
