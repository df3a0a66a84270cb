/**
 * The narrow view of the trickle transport that a stream uses. The default implementation wraps
 * trickle-rt's TricklePublisher/TrickleSubscriber (src/trickle); tests may substitute their own.
 */

/** One outgoing trickle segment: bytes leave as they are written. */
export interface SegmentSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the segment (the POST body). */
  close(): Promise<void>;
}

/** A channel the worker publishes to (output media, events, data). */
export interface ChannelPublisher {
  /** Opens the next segment. Rejects when the channel is gone. */
  next(): Promise<SegmentSink>;
  /** Ends publishing and DELETEs the channel, so subscribers see EOS. */
  close(): Promise<void>;
}

/**
 * A channel the worker reads from (input media, control): segments of chunks. `endReason`, when the
 * implementation has it, says why iteration ended (`'not-found'`: the channel does not exist).
 */
export type ChannelSubscriber = AsyncIterable<AsyncIterable<Uint8Array>> & { readonly endReason?: string | undefined };

/**
 * Asked for by the media path: ride out an outage of the channel's server (drop what cannot be
 * delivered or was cut off, go on) for up to `outageMs`, and say when it begins and ends. A
 * transport without outage handling may ignore these.
 */
export interface OutageHandling {
  outageMs?: number;
  onOutage?: (info: { url: string; error: string }) => void;
  onRecovered?: (info: { url: string; outageMs: number; segmentsDropped: number }) => void;
}

export interface TransportFactory {
  publisher(url: string, options: { mimeType: string; signal: AbortSignal } & OutageHandling): ChannelPublisher;
  /** `start`: -2 = the segment being written (media, default), -1 = the next one. */
  subscriber(url: string, options: { start?: number; signal: AbortSignal } & OutageHandling): ChannelSubscriber;
}
