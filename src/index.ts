/**
 * trickle-rt public API. See README.md for concepts and examples.
 */
export { TrickleError, ErrorCodes, type ErrorCode } from './errors';
export { capabilities, packageVersion, type Capabilities } from './capabilities';
export { summarizeVideo, type VideoSummary } from './media/summarize-video';
export { TrickleServer, type TrickleServerOptions, type TrickleChannelInfo } from './trickle/trickle-server';
