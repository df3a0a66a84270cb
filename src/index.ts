/**
 * trickle-rt public API. See README.md for concepts and examples.
 */
export { TrickleError, ErrorCodes, type ErrorCode } from './errors';
export { capabilities, packageVersion, type Capabilities } from './capabilities';
export { summarizeVideo, type VideoSummary } from './media/summarize-video';
export { TrickleServer, type TrickleServerOptions, type TrickleChannelInfo } from './trickle/trickle-server';
export { VideoFrame, type PixelFormat, type FrameLocation, type FramePlane } from './media/video-frame';
export { AudioFrame, type AudioFrameInit } from './media/audio-frame';
export { FramePool, type FramePoolStats } from './media/frame-pool';
export { frameStats, type FrameStats } from './media/frame-stats';
