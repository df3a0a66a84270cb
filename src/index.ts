/**
 * trickle-rt public API. See README.md for concepts and examples.
 */
export { TrickleError, ErrorCodes, type ErrorCode } from './errors';
export { capabilities, gpuStats, packageVersion, type Capabilities } from './native/capabilities';
export type { NativeGpuStats as GpuStats, NativeGpuStatsDevice as GpuStatsDevice } from './native/addon';
export { summarizeVideo, type VideoSummary } from './media/summarize-video';
export {
  TrickleServer,
  type TrickleServerOptions,
  type TrickleChannelInfo,
  type TrickleServerCounters,
  type TrickleServerLimits,
} from './trickle-server/trickle-server';
export {
  VideoFrame,
  type PixelFormat,
  type FrameLocation,
  type FramePlane,
  type CudaInterop,
  type ToTensorOptions,
  type FromTensorOptions,
} from './media/video-frame';
export { Tensor, type DType, type TensorLocation, type TensorData } from './media/tensor';
export { copyCounters, type CopyCounters } from './media/copy-counters';
export { AudioFrame, type AudioFrameInit } from './media/audio-frame';
export { FramePool, type FramePoolStats } from './media/frame-pool';
export { frameStats, type FrameStats } from './media/frame-stats';
export { FrameProcessor, type StreamContext, type ClosableFrame, type InputSize, type AudioMode } from './processor/frame-processor';
export { applyParamsSchema, type ParamsSchema, type ParamsValidator, type StandardSchema, type StandardSchemaIssue } from './processor/params-schema';
export { createProcessor, type ProcessorHooks } from './processor/create-processor';
export { StreamServer, type StreamServerOptions } from './worker/stream-server';
export { validateParams, mediaSettings, liveBitrate, ParamsValidationError, type StreamParams, type StreamMediaSettings } from './params';
export { WorkerState, type HealthStatus, type CurrentState } from './worker/worker-state';
export type { StreamHandle, StreamEnd, StreamPhase, StartRequest } from './stream/stream-handle';
export { createLogger, type Logger, type LogLevel } from './logger';
export {
  registerCapability,
  registerCapabilityFromEnv,
  unregisterCapability,
  byocSettingsFromEnv,
  CapabilityRegistration,
  type CapabilityRegistrationOptions,
  type RegistrationOptions,
  type RegistrationResult,
} from './worker/registration';
export { LiveRunner, type LiveRunnerOptions, type LiveRunnerGpu, type LiveRunnerPrice } from './worker/live-runner';
export { planRegistration, type ByocSettings, type LiveRunnerSettings, type RegistrationPlan } from './worker/livepeer-config';
export { resolveTls, TLS_CA_ENV, type TlsOptions, type TlsPolicy } from './trickle/tls';
export { RidingPublisher, type RidingPublisherOptions, type OutageStart, type OutageEnd } from './trickle/riding-publisher';
export { RidingSegment } from './trickle/riding-segment';
export { StreamStats, type StreamStatsSnapshot, type LatencySummary } from './stream/stream-stats';
export { DEFAULT_TIMINGS, type StreamTimings } from './stream/timings';
export { createStreamSession, StreamSession, type MediaPipeline, type MediaPipelineFactory, type MediaPipelineContext } from './stream/stream-session';
export type { TransportFactory, ChannelPublisher, ChannelSubscriber, SegmentSink, OutageHandling } from './stream/transport';
export {
  Engine,
  type EngineDType,
  type EngineTensorInfo,
  type EngineLoadOptions,
  type EngineLoadInfo,
  type EngineRunOptions,
  type EngineStats,
} from './infer/engine';
export { defaultEngineCacheDir, engineCacheKey, type EngineCacheKeyParts } from './infer/engine-cache';
export {
  Decoder,
  type DecoderOptions,
  type DecoderDevice,
  type DecoderStats,
  type DecoderState,
  type DecoderSource,
  type DecodedItem,
  type AudioPacket,
} from './media/decoder';
export {
  Encoder,
  type EncoderOptions,
  type EncoderStats,
  type EncoderState,
  type EncodedChunk,
  type EncodedSegment,
} from './media/encoder';
export { TricklePublisher, type TricklePublisherOptions, type TricklePublisherState } from './trickle/trickle-publisher';
export { TrickleSegmentWriter } from './trickle/trickle-segment-writer';
export {
  TrickleSubscriber,
  type TrickleSubscriberOptions,
  type TrickleSubscriberState,
  type TrickleEndReason,
} from './trickle/trickle-subscriber';
export { TrickleSegment } from './trickle/trickle-segment';
export { DataSubscriber, parseDataSegment, type DataSubscriberOptions, type DataMessage } from './trickle/data-subscriber';
export type { DataChannelFormat } from './stream/channels/data-channel';
export { SEQ_CURRENT, SEQ_NEXT } from './trickle/protocol';
export { MpegTsPacer, type PacedPart, type MpegTsPacerOptions } from './trickle/mpegts-pacer';
export { MpegTsSplitter, looksLikeMpegTs, type SplitPiece, type MpegTsSplitterOptions } from './trickle/mpegts-splitter';
export { createMediaPipeline, type MediaBackend, type MediaPipelineOptions } from './stream/media-pipeline';
export { nativeMediaBackend, type NativeMediaOptions } from './stream/native-media';
export { trickleTransport, type TrickleTransportOptions } from './stream/trickle-transport';
export { createTintProcessor } from './processor/samples/tint';
