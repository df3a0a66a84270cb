/**
 * An embedded trickle server (node:http), behaving on the wire like go-livepeer's `trickle` server
 * (trickle/trickle_server.go at 176aa415). Deliberate deviations (400 instead of Go's panics, the
 * limits, closing a segment whose publisher aborted mid-body, ...) are listed in docs/protocol.md.
 *
 * Threading: JS thread only. Memory: every channel retains at most 5 segments; a segment's bytes are
 * copied once into slabs the server pools and reuses (SegmentMemory), shared by all of its readers.
 * A slow reader is paced by its socket's backpressure (it never makes the server buffer more than
 * the segment itself), and holds its segment until its response is flushed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { defaultSlabSource, type SlabSource } from './slab-memory';
import {
  CLOSED_VALUE,
  HEADER_CLOSED,
  HEADER_EXPECT_CONTENT,
  HEADER_LATEST,
  HEADER_RESET,
  HEADER_SEQ,
  parseSeq,
  SEGMENTS_PER_CHANNEL,
  SEQ_CURRENT,
  SEQ_NEXT,
  STATUS_SEQ_NONEXISTENT,
} from '../trickle/protocol';

/** Options of {@link TrickleServer}. Every limit is per server unless its name says otherwise. */
export interface TrickleServerOptions {
  /** URL path prefix of every channel (Go `BasePath`; the orchestrator uses `/ai/trickle/`). Default `/`. */
  basePath?: string;
  /** Create unknown channels on `POST {ch}/{seq}` and allow `POST {ch}` (Go `Autocreate`). Default false. */
  autocreate?: boolean;
  /** Maintain the `_changes` changefeed channel (Go `ChangeFeed`). Default false. */
  changefeed?: boolean;
  /** Close and remove a channel when no segment started for this long (ms). `_`-prefixed channels are exempt. 0 disables. Default 300 000 (5 min). */
  idleTimeoutMs?: number;
  /** Interval of the interim `100 Continue` sent while a POST has not delivered its first byte (ms). Default 10 000. */
  interimIntervalMs?: number;
  /** Largest segment body accepted (bytes); a larger POST gets 413 and the segment is closed at the limit. Default 64 MiB. */
  maxSegmentBytes?: number;
  /** Most channels that may exist at once (including `_changes`); more gets 429 / ERR_LIMIT_EXCEEDED. Default 1024. */
  maxChannels?: number;
  /** Most GETs (waiting or streaming) on one channel at once; more gets 429. Default 256. */
  maxSubscribersPerChannel?: number;
  /**
   * After a channel is deleted or swept, GETs keep being answered from it for this long (ms): its
   * retained segments are still served and anything else gets EOS (`Lp-Trickle-Closed`), instead
   * of Go's immediate 404. A subscriber that lags a segment or two behind then still receives the
   * end of the stream. POST/DELETE see the channel as gone at once. 0 = Go behaviour. Default 10 000.
   */
  closedGraceMs?: number;
  /**
   * Bytes all segments together may hold (retained ones, and evicted ones still being read). Going
   * over evicts, without ever making a publisher wait: first retained segments nobody reads (oldest
   * first), then readers of evicted or retained segments are cut, and as a last resort the segment
   * being written is cut (its POST gets 507). Default 1 GiB.
   */
  maxRetainedBytes?: number;
  /**
   * What `maxRetainedBytes` bounds. `'segments'`: the bytes segments hold (exact; the process RSS
   * also carries buffers released but not yet garbage-collected and the allocator's slack).
   * `'process'`: the growth of the process RSS since the server was created. The server samples
   * its RSS (at most every 50 ms, while segments grow) and shrinks the segments' share of the
   * budget by what the rest of the growth takes (garbage not yet collected, allocator slack, socket
   * buffers), never below a quarter of the budget. Meant for a process that runs the server alone
   * (`trickle-rt trickle-server`): in a process that does other work, that work's growth would
   * squeeze the segments. Default `'segments'`.
   */
  memoryBudgetScope?: 'segments' | 'process';
  /**
   * A reader whose socket accepts no more data for this long while the segment has bytes it has not
   * taken is cut (its response aborted), so a stalled reader never pins a segment (ms). Default 20 000.
   */
  readerStallTimeoutMs?: number;
  /** A POST body that delivers no byte for this long after its first byte is cut, as a publisher abort (ms). Default 30 000. */
  bodyIdleTimeoutMs?: number;
  /** A connection must complete its request headers within this (ms; node:http `headersTimeout`). Default 10 000. */
  headersTimeoutMs?: number;
  /** A keep-alive connection without a request is closed after this (ms). Default 30 000. */
  keepAliveTimeoutMs?: number;
  /** Most open connections; more are closed at once. Default 4096. */
  maxConnections?: number;
  /** Most open connections from one client address; more are closed at once. Default 512. */
  maxConnectionsPerClient?: number;
  /** Most channels one client address may have created over HTTP (autocreate) that still exist; more gets 429. Default 64. */
  maxChannelsPerClient?: number;
  /** Most GETs one client address may hold on one channel at once; more gets 429. Default 32. */
  maxSubscribersPerClient?: number;
  /**
   * Segment bytes one client address may upload per second, all its POSTs together (a one-second
   * burst allowed). Past it, that client's request bodies are paused (TCP backpressure on the client,
   * no work here), so one client flooding uploads cannot take the server's CPU from the others.
   * Default 64 MiB/s (a 4 Mbit/s stream is 0.5 MiB/s).
   */
  maxClientBytesPerSecond?: number;
  /**
   * When set, every request must carry `Authorization: Bearer <authToken>` (401 otherwise). Default:
   * none, as go-livepeer's server (whose channel names are unguessable per stream).
   */
  authToken?: string;
}

/** A snapshot of one channel, for monitoring and tests. */
export interface TrickleChannelInfo {
  name: string;
  mime: string;
  /** The index the next `-1` write goes to (Go `nextWrite`). */
  nextWrite: number;
  /** GETs currently waiting on or streaming a segment of this channel. */
  subscribers: number;
  /** Retained segments, oldest first. */
  segments: Array<{
    seq: number;
    bytes: number;
    closed: boolean;
    /** Bytes handed to each attached reader's socket so far (a slow reader lags behind `bytes`). */
    readerBytes: number[];
  }>;
}

const DEFAULTS = {
  basePath: '/',
  autocreate: false,
  changefeed: false,
  idleTimeoutMs: 300_000,
  interimIntervalMs: 10_000,
  maxSegmentBytes: 64 * 1024 * 1024,
  maxChannels: 1024,
  maxSubscribersPerChannel: 256,
  closedGraceMs: 10_000,
  maxRetainedBytes: 1024 * 1024 * 1024,
  memoryBudgetScope: 'segments' as 'segments' | 'process',
  readerStallTimeoutMs: 20_000,
  bodyIdleTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  maxConnections: 4096,
  maxConnectionsPerClient: 512,
  maxChannelsPerClient: 64,
  maxSubscribersPerClient: 32,
  maxClientBytesPerSecond: 64 * 1024 * 1024,
} satisfies Required<Omit<TrickleServerOptions, 'authToken'>>;

/** How often (at most) a server whose budget scope is `'process'` samples its RSS, in ms. */
const RSS_SAMPLE_INTERVAL_MS = 50;
/** Pooled slabs no segment took during this long are dropped (ms). */
const POOL_TRIM_INTERVAL_MS = 10_000;

/** The limits of a server, as {@link TrickleServer.limits} reports them. */
export type TrickleServerLimits = Required<Omit<TrickleServerOptions, 'authToken' | 'basePath' | 'autocreate' | 'changefeed' | 'memoryBudgetScope'>>;

/** Counters of what the server's limits did, for monitoring and tests. */
export interface TrickleServerCounters {
  /** Bytes of the slabs all segments hold now (their capacity: at most 64 KiB per segment over the bytes written). */
  retainedBytes: number;
  /** Bytes of free slabs kept for reuse (`retainedBytes + pooledBytes` stays within the budget). */
  pooledBytes: number;
  /**
   * Scope `'process'` only (0 otherwise): at the last RSS sample, the RSS growth since the server
   * was created that segments do not account for; the segments' share of the budget is
   * `maxRetainedBytes` minus this (at least a quarter of it).
   */
  rssOverheadBytes: number;
  /** Segments evicted early to stay within `maxRetainedBytes`. */
  segmentsEvicted: number;
  /** Readers cut: stalled past `readerStallTimeoutMs`, or holding an evicted segment over the budget. */
  readersCut: number;
  /** Segments cut while being written (publisher abort, idle body, or the budget). */
  segmentsCut: number;
  /** Connections closed at once by `maxConnections` / `maxConnectionsPerClient`. */
  connectionsRefused: number;
  /** Requests refused by a per-client limit (429). */
  clientLimitRefusals: number;
  /** Times a client's upload was paused by `maxClientBytesPerSecond`. */
  uploadsThrottled: number;
  /** Requests refused for a missing or wrong bearer token (401). */
  unauthorized: number;
}

const CHANGEFEED = '_changes';
const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** The first slab of a segment (most segments of a small channel fit in it). */
const FIRST_SLAB_BYTES = 16 * 1024;
/** Every later slab: node's HTTP parser hands body chunks of at most 64 KiB. */
const SLAB_BYTES = 64 * 1024;

/**
 * The memory all segments of a server hold. Segment bytes are copied into slabs (16 KiB, then
 * 64 KiB) that the server owns and reuses: a released segment's slabs go back to a pool at once,
 * without waiting for the garbage collector, and the next segment writes into them, so the memory
 * the segments take is the same memory, not fresh allocations whose predecessors linger until a GC.
 * A segment is live from its creation until it is out of its channel's slot (evicted, replaced,
 * channel gone) and no reader holds it (a reader holds it until its response is flushed); then its
 * slabs return to the pool, which keeps at most what the budget leaves free. A slab over that is
 * dropped through the slab source (slab-memory.ts): its pages go back to the kernel at once, or,
 * without the native addon, the garbage collector frees it.
 */
class SegmentMemory {
  /** Bytes of the slabs live segments hold (their capacity: what the server really holds). */
  bytes = 0;
  /** Bytes of the free slabs in the pool. */
  pooledBytes = 0;
  /** Live segments in creation order (oldest first). */
  readonly live = new Set<Segment>();
  private readonly pool = new Map<number, Buffer[]>([
    [FIRST_SLAB_BYTES, []],
    [SLAB_BYTES, []],
  ]);
  /** The fewest pooled bytes since the last trim (what the pool did not need meanwhile). */
  private pooledLowWater = 0;

  constructor(
    readonly source: SlabSource,
    readonly onGrow: (seg: Segment) => void,
    /** The bytes segments and pool together may hold now. */
    readonly limit: () => number,
  ) {}

  take(size: number): Buffer {
    const slab = this.pool.get(size)?.pop();
    if (slab) {
      this.pooledBytes -= size;
      this.pooledLowWater = Math.min(this.pooledLowWater, this.pooledBytes);
    }
    this.bytes += size;
    return slab ?? this.source.take(size);
  }

  releaseIfUnused(seg: Segment): void {
    if (seg.inSlot || seg.readers.size > 0 || !this.live.delete(seg)) return;
    const slabs = seg.releaseSlabs();
    for (const slab of slabs) this.bytes -= slab.length;
    const room = this.limit() - this.bytes;
    for (const slab of slabs) {
      // Over what the budget leaves free, a slab is dropped.
      if (this.pooledBytes + slab.length > room) {
        this.source.drop(slab);
        continue;
      }
      this.pool.get(slab.length)?.push(slab);
      this.pooledBytes += slab.length;
    }
  }

  /** Drops pooled slabs until segments and pool fit `limit` (or the pool is empty). */
  shrinkPool(limit: number): void {
    for (const slabs of this.pool.values()) {
      while (this.bytes + this.pooledBytes > limit && slabs.length > 0) {
        const slab = slabs.pop() as Buffer;
        this.pooledBytes -= slab.length;
        this.source.drop(slab);
      }
    }
    this.pooledLowWater = Math.min(this.pooledLowWater, this.pooledBytes);
  }

  /** Drops the pooled slabs nobody took since the last trim (called periodically), so an idle server gives its memory back. */
  trim(): void {
    this.shrinkPool(this.bytes + this.pooledBytes - this.pooledLowWater);
    this.pooledLowWater = this.pooledBytes;
  }

  /** Drops the pool (the server is closed). */
  clear(): void {
    for (const slabs of this.pool.values()) slabs.length = 0;
    this.pooledBytes = 0;
    this.source.forget();
  }
}

/** One segment: an append-only list of body chunks (views into its slabs) plus a one-way closed flag. */
class Segment {
  /** What readers write, in order: views of the slabs' filled parts. */
  readonly chunks: Buffer[] = [];
  /** Bytes written (the slabs' capacity is accounted by SegmentMemory). */
  bytes = 0;
  private readonly slabs: Buffer[] = [];
  /** Bytes used in the last slab. */
  private tailUsed = 0;
  closed = false;
  /**
   * The segment ended before its publisher finished it (publisher gone, body idle, size limit,
   * memory budget): readers get what there is and then an aborted response, never a complete one.
   */
  cut = false;
  /** Held by its channel's slot (false once evicted, replaced, or its channel is gone). */
  inSlot = true;
  /** GETs attached to this segment (they keep it alive after eviction). */
  readonly readers = new Set<SegmentReader>();
  /** POSTs waiting for their first byte; they end when the segment closes. */
  readonly closeWaiters = new Set<() => void>();

  constructor(
    readonly idx: number,
    readonly channel: Channel,
    private readonly memory: SegmentMemory,
  ) {
    memory.live.add(this);
  }

  append(chunk: Buffer): void {
    // A released segment (evicted, nobody reading) can never be read again: late bytes are dropped.
    if (!this.memory.live.has(this)) return;
    let tail = this.slabs[this.slabs.length - 1];
    for (let off = 0; off < chunk.length; ) {
      if (!tail || this.tailUsed === tail.length) {
        tail = this.memory.take(this.slabs.length === 0 ? FIRST_SLAB_BYTES : SLAB_BYTES);
        this.slabs.push(tail);
        this.tailUsed = 0;
      }
      const n = Math.min(tail.length - this.tailUsed, chunk.length - off);
      chunk.copy(tail, this.tailUsed, off, off + n);
      this.chunks.push(tail.subarray(this.tailUsed, this.tailUsed + n));
      this.tailUsed += n;
      off += n;
    }
    this.bytes += chunk.length;
    for (const reader of this.readers) reader.pump();
    this.memory.onGrow(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of [...this.closeWaiters]) waiter();
    this.closeWaiters.clear();
    for (const reader of [...this.readers]) reader.pump();
  }

  /** Hands its slabs back (the segment is released: nobody can read it any more). */
  releaseSlabs(): Buffer[] {
    this.chunks.length = 0;
    return this.slabs.splice(0);
  }

  /** Ends the segment as incomplete (see `cut`). */
  cutShort(): void {
    if (this.closed) return;
    this.cut = true;
    this.close();
  }

  /** Takes the segment out of its slot (if still there) and releases it when nobody reads it. */
  leaveSlot(): void {
    if (this.channel.slots[this.idx % SEGMENTS_PER_CHANNEL] === this) this.channel.slots[this.idx % SEGMENTS_PER_CHANNEL] = undefined;
    this.inSlot = false;
    this.memory.releaseIfUnused(this);
  }

  readerDone(reader: SegmentReader): void {
    this.readers.delete(reader);
    this.memory.releaseIfUnused(this);
  }
}

class Channel {
  nextWrite = 0;
  closed = false;
  subscribers = 0;
  /** GETs held on this channel per client address. */
  readonly subscribersByClient = new Map<string, number>();
  readonly slots: Array<Segment | undefined> = new Array<Segment | undefined>(SEGMENTS_PER_CHANNEL);
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly mime: string,
    private readonly memory: SegmentMemory,
    /** The client address that created it over HTTP; undefined when created from code. */
    readonly creator: string | undefined,
  ) {}

  /** Go `getForWrite`: reuse the segment of the same idx, else close and replace the slot's occupant. */
  getForWrite(idx: number): Segment {
    const slot = idx % SEGMENTS_PER_CHANNEL;
    const existing = this.slots[slot];
    if (existing && existing.idx === idx) return existing;
    existing?.close();
    existing?.leaveSlot();
    const seg = new Segment(idx, this, this.memory);
    this.slots[slot] = seg;
    return seg;
  }

  /** Go `getForRead`: resolve -1/-2, find the retained segment or precreate the leading one. */
  getForRead(requested: number): { idx: number; seg: Segment | undefined } {
    let idx = requested;
    if (idx === SEQ_NEXT) idx = this.nextWrite;
    else if (idx === SEQ_CURRENT) idx = this.nextWrite > 0 ? this.nextWrite - 1 : 0;
    const slot = idx % SEGMENTS_PER_CHANNEL;
    const existing = this.slots[slot];
    if (existing && existing.idx === idx) return { idx, seg: existing };
    if (!this.closed && (idx === this.nextWrite || (this.nextWrite === 0 && idx === 1))) {
      // Precreate without closing the previous occupant (as Go does): its readers hold it.
      existing?.leaveSlot();
      const seg = new Segment(idx, this, this.memory);
      this.slots[slot] = seg;
      return { idx, seg };
    }
    return { idx, seg: undefined };
  }

  retained(): Segment[] {
    return this.slots.filter((s): s is Segment => s !== undefined).sort((a, b) => a.idx - b.idx);
  }

  /** The channel is gone for good: its segments leave their slots (readers keep theirs). */
  dropSegments(): void {
    for (const seg of [...this.slots]) seg?.leaveSlot();
  }
}

/**
 * Streams one segment to one GET, from byte 0, as bytes arrive; paced by the socket. A reader whose
 * socket takes nothing for `stallTimeoutMs` while it has bytes to send is cut.
 */
class SegmentReader {
  /** Bytes handed to the socket. */
  sent = 0;
  private pos = 0;
  private awaitingDrain = false;
  private started = false;
  private done = false;
  private released = false;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly seg: Segment,
    private readonly res: ServerResponse,
    private readonly latestAtRequest: number,
    private readonly stallTimeoutMs: number,
    /** The response is over (written in full, aborted, or cut). */
    private readonly onDone: () => void,
    /** A limit took the segment from this reader (counted once per reader). */
    private readonly onCut: () => void,
  ) {
    res.on('close', () => {
      this.finish(false);
      this.releaseSegment();
    });
    res.on('drain', () => {
      this.awaitingDrain = false;
      clearTimeout(this.stallTimer);
      this.pump();
    });
  }

  pump(): void {
    if (this.done || this.awaitingDrain) return;
    const { chunks } = this.seg;
    while (this.pos < chunks.length) {
      if (!this.started) this.writeDataHeaders();
      const chunk = chunks[this.pos++] as Buffer;
      this.sent += chunk.length;
      const ok = this.res.write(chunk);
      if (!ok) {
        this.awaitingDrain = true;
        this.stallTimer = setTimeout(() => this.cut(), this.stallTimeoutMs);
        this.stallTimer.unref();
        return;
      }
    }
    if (this.seg.closed) {
      if (this.seg.cut) {
        // No terminating chunk: the client sees the response end early (Go's client: unexpected EOF).
        if (!this.started) this.writeDataHeaders();
        this.abort(false);
        return;
      }
      if (!this.started) this.writeEmptyReply();
      else this.res.end();
      this.finish(false);
    }
  }

  /**
   * Aborts the response because a limit needs the segment back. A reader whose response is over
   * but whose last bytes still wait in the socket's write queue holds the segment too: its socket
   * is destroyed (the queue goes with it) and the segment is released at once.
   */
  cut(): void {
    if (!this.done) {
      this.abort(true);
      return;
    }
    if (this.released) return;
    this.res.destroy();
    this.releaseSegment();
    this.onCut();
  }

  /**
   * Ends the response without its terminating chunk. For a cut segment the bytes written so far
   * are flushed first (ending the socket); a reader cut by a limit is dropped at once.
   */
  private abort(byLimit: boolean): void {
    if (this.done) return;
    const socket = this.res.socket;
    if (byLimit || !socket) {
      // Destroyed first: its write queue is dropped with it, so the segment is released at once.
      this.res.destroy();
      this.finish(byLimit);
    } else {
      this.finish(byLimit);
      socket.end();
    }
  }

  private writeDataHeaders(): void {
    this.started = true;
    const { res } = this;
    if (this.seg.idx !== this.latestAtRequest) res.setHeader(HEADER_LATEST, String(this.latestAtRequest));
    res.setHeader(HEADER_SEQ, String(this.seg.idx));
    res.setHeader('Content-Type', this.channel.mime);
    res.writeHead(200);
  }

  /** Segment closed with no data: valid empty segment, or EOS when the channel is closed. */
  private writeEmptyReply(): void {
    const { res } = this;
    res.setHeader(HEADER_SEQ, String(this.seg.idx));
    res.setHeader(HEADER_LATEST, String(this.channel.nextWrite));
    if (this.channel.closed) res.setHeader(HEADER_CLOSED, CLOSED_VALUE);
    res.setHeader('Content-Length', '0');
    res.writeHead(200);
    res.end();
  }

  private finish(byLimit: boolean): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.stallTimer);
    this.onDone();
    if (byLimit) this.onCut();
    // The segment's chunks stay referenced by the socket's write queue until the response is
    // flushed: the reader holds the segment (and its bytes count) until then.
    if (this.res.writableFinished || this.res.destroyed) this.releaseSegment();
    else this.res.once('finish', () => this.releaseSegment());
  }

  private releaseSegment(): void {
    if (this.released) return;
    this.released = true;
    this.seg.readerDone(this);
  }
}

/**
 * An embedded trickle server: channels of up to 5 retained segments, published with `POST
 * {ch}/{seq}` and read with `GET {ch}/{seq}`, exactly as go-livepeer's server answers them.
 *
 * @example
 * const server = new TrickleServer({ basePath: '/ai/trickle/' });
 * server.createChannel('stream1', 'video/MP2T');
 * const port = await server.listen(0, '127.0.0.1');
 * // publish to http://127.0.0.1:${port}/ai/trickle/stream1 with TricklePublisher
 * await server.close();
 */
export class TrickleServer {
  private readonly options: Required<Omit<TrickleServerOptions, 'authToken'>>;
  /** Scope `'process'`: the RSS when the server was created, the last sample, and when it was taken. */
  private readonly rssBaseline: number;
  private rssOverhead = 0;
  private rssSampledAt = -Infinity;
  /** The address of each accepted connection (reading `remoteAddress` asks the kernel each time). */
  private readonly clientBySocket = new WeakMap<Socket, string>();
  private readonly channels = new Map<string, Channel>();
  /** Closed channels still answering GETs during `closedGraceMs`. */
  private readonly closedChannels = new Map<string, { channel: Channel; timer: NodeJS.Timeout }>();
  private readonly sockets = new Set<Socket>();
  private readonly connectionsByClient = new Map<string, number>();
  private readonly channelsByClient = new Map<string, number>();
  private readonly memory: SegmentMemory = new SegmentMemory(
    defaultSlabSource(),
    (seg) => this.enforceBudget(seg),
    () => this.segmentBudget(),
  );
  private readonly poolTrimmer: NodeJS.Timeout;
  private readonly authToken: Buffer | undefined;
  private readonly counts = { segmentsEvicted: 0, readersCut: 0, segmentsCut: 0, connectionsRefused: 0, clientLimitRefusals: 0, uploadsThrottled: 0, unauthorized: 0 };
  /** Upload token buckets per client address (bytes available, refilled at `maxClientBytesPerSecond`). */
  private readonly uploadBuckets = new Map<string, { tokens: number; at: number }>();
  private httpServer: Server | undefined;
  private stopped = false;

  constructor(options: TrickleServerOptions = {}) {
    const { authToken, ...rest } = options;
    const o = { ...DEFAULTS, ...stripUndefined(rest) };
    let base = o.basePath;
    if (typeof base !== 'string' || !base.startsWith('/')) throw invalidArg('basePath', 'a path starting with "/"', base);
    if (!base.endsWith('/')) base += '/';
    o.basePath = base;
    for (const key of LIMIT_KEYS) {
      const v = o[key];
      const min = key === 'idleTimeoutMs' || key === 'closedGraceMs' ? 0 : 1;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidArg(key, min === 0 ? 'a non-negative integer' : 'a positive integer', v);
    }
    if (authToken !== undefined && (typeof authToken !== 'string' || authToken === '')) throw invalidArg('authToken', 'a non-empty string', authToken);
    this.authToken = authToken === undefined ? undefined : Buffer.from(authToken);
    if (o.memoryBudgetScope !== 'segments' && o.memoryBudgetScope !== 'process') throw invalidArg('memoryBudgetScope', "'segments' or 'process'", o.memoryBudgetScope);
    this.options = o;
    this.rssBaseline = o.memoryBudgetScope === 'process' ? process.memoryUsage.rss() : 0;
    if (o.changefeed) this.addChannel(CHANGEFEED, 'application/json', undefined);
    this.poolTrimmer = setInterval(() => this.memory.trim(), POOL_TRIM_INTERVAL_MS);
    this.poolTrimmer.unref();
  }

  /** The limits in force (defaults filled in). */
  get limits(): TrickleServerLimits {
    const out: Partial<Record<(typeof LIMIT_KEYS)[number], number>> = {};
    for (const key of LIMIT_KEYS) out[key] = this.options[key];
    return out as TrickleServerLimits;
  }

  /** What the limits did so far, and the bytes held now. */
  counters(): TrickleServerCounters {
    return { retainedBytes: this.memory.bytes, pooledBytes: this.memory.pooledBytes, rssOverheadBytes: this.rssOverhead, ...this.counts };
  }

  /**
   * Where segment memory comes from: `'pages'` (the native addon loaded) — slabs are kernel pages
   * the server gives back the moment the budget or the idle trim drops them, and each uploaded body
   * chunk is freed as soon as it is copied; `'heap'` — ordinary Buffers left to the garbage
   * collector, so the RSS follows the budget more loosely (docs/security.md).
   */
  get slabMemory(): 'pages' | 'heap' {
    return this.memory.source.kind;
  }

  /** The normalized base path (always ends with `/`). */
  get basePath(): string {
    return this.options.basePath;
  }

  /**
   * Creates a channel from code, as an orchestrator precreates its stream channels. Creating an
   * existing channel is a no-op (the mime stays). Throws ERR_LIMIT_EXCEEDED beyond `maxChannels`.
   */
  createChannel(name: string, mime = ''): void {
    if (typeof name !== 'string' || name.length === 0) throw invalidArg('channel name', 'a non-empty string', name);
    if (typeof mime !== 'string') throw invalidArg('mime', 'a string', mime);
    if (this.stopped) throw new TrickleError(ErrorCodes.ERR_CLOSED, 'The trickle server is closed');
    if (this.channels.has(name)) return;
    if (!this.addChannel(name, mime, undefined)) {
      throw new TrickleError(ErrorCodes.ERR_LIMIT_EXCEEDED, `Too many trickle channels (maxChannels ${this.options.maxChannels})`);
    }
  }

  /** Closes (EOS for every waiting subscriber) and removes a channel. Returns false if it did not exist. */
  deleteChannel(name: string): boolean {
    const ch = this.channels.get(name);
    if (!ch) return false;
    this.closeChannel(ch, true);
    return true;
  }

  hasChannel(name: string): boolean {
    return this.channels.has(name);
  }

  /** Names of the current channels. */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** A snapshot of a channel's state, or undefined. */
  channelInfo(name: string): TrickleChannelInfo | undefined {
    const ch = this.channels.get(name);
    if (!ch) return undefined;
    return {
      name: ch.name,
      mime: ch.mime,
      nextWrite: ch.nextWrite,
      subscribers: ch.subscribers,
      segments: ch.retained().map((s) => ({ seq: s.idx, bytes: s.bytes, closed: s.closed, readerBytes: [...s.readers].map((r) => r.sent) })),
    };
  }

  /**
   * Serves one request if its path is under the base path; returns false (and leaves `res`
   * untouched) otherwise, so the server can be mounted inside another node:http server.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const rawPath = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!rawPath.startsWith(this.options.basePath)) return false;
    // A client that vanishes mid-request must never surface as an unhandled 'error' event.
    req.on('error', noop);
    res.on('error', noop);
    if (!this.authorized(req)) {
      this.counts.unauthorized += 1;
      req.resume();
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.setHeader('Connection', 'close');
      httpError(res, 401, 'Unauthorized');
      return true;
    }
    this.route(req, res, rawPath.slice(this.options.basePath.length));
    return true;
  }

  /** Starts listening; resolves to the bound port (pass 0 for an ephemeral one). */
  async listen(port = 0, host?: string): Promise<number> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArg('port', 'an integer 0..65535', port);
    if (this.httpServer) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'The trickle server is already listening');
    if (this.stopped) throw new TrickleError(ErrorCodes.ERR_CLOSED, 'The trickle server is closed');
    const o = this.options;
    // requestTimeout stays 0 (a segment POST or GET lasts as long as its segment), so headersTimeout
    // must be given explicitly: node derives its default from requestTimeout, which would turn it off.
    const server = createServer(
      {
        requestTimeout: 0,
        headersTimeout: o.headersTimeoutMs,
        keepAliveTimeout: o.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(o.headersTimeoutMs / 4))),
      },
      (req, res) => {
        if (!this.handleRequest(req, res)) notFoundPage(res);
      },
    );
    server.on('connection', (socket: Socket) => {
      const client = socket.remoteAddress ?? '';
      this.clientBySocket.set(socket, client);
      const fromClient = (this.connectionsByClient.get(client) ?? 0) + 1;
      if (this.sockets.size >= o.maxConnections || fromClient > o.maxConnectionsPerClient) {
        this.counts.connectionsRefused += 1;
        socket.destroy();
        return;
      }
      this.connectionsByClient.set(client, fromClient);
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        const left = (this.connectionsByClient.get(client) ?? 1) - 1;
        if (left <= 0) {
          this.connectionsByClient.delete(client);
          this.uploadBuckets.delete(client);
        } else this.connectionsByClient.set(client, left);
      });
    });
    // A malformed request (bad request line, invalid escape) gets 400, never a crash.
    // A connection that did not complete its headers in time is closed without an answer, as Go's
    // ReadHeaderTimeout does: node's connection check expires them in one batch, and writing an
    // answer to each of hundreds of dripping connections stalls every other channel for ms.
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (socket.writable && err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.httpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /** The bound port, once listening. */
  get port(): number | undefined {
    const addr = this.httpServer?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /**
   * Stops: closes every channel (subscribers waiting on a segment get EOS; no changefeed events),
   * stops listening and drops the remaining connections. Idempotent.
   */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poolTrimmer);
    for (const ch of [...this.channels.values()]) this.closeChannel(ch, false);
    for (const { channel, timer } of this.closedChannels.values()) {
      clearTimeout(timer);
      channel.dropSegments();
    }
    this.closedChannels.clear();
    const server = this.httpServer;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Give replies just written (EOS) a turn to flush, then drop what is left.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.memory.clear();
  }

  // ---------------------------------------------------------------- channel bookkeeping

  private addChannel(name: string, mime: string, creator: string | undefined): Channel | undefined {
    if (this.channels.size >= this.options.maxChannels) return undefined;
    const ch = new Channel(name, mime, this.memory, creator);
    if (creator !== undefined) this.channelsByClient.set(creator, (this.channelsByClient.get(creator) ?? 0) + 1);
    this.forget(name);
    this.channels.set(name, ch);
    this.touch(ch);
    this.publishChange({ added: [name] });
    return ch;
  }

  /** Go `closeStream`: close every retained segment, mark closed, remove from the map. */
  private closeChannel(ch: Channel, announce: boolean): void {
    if (this.channels.get(ch.name) === ch) {
      this.channels.delete(ch.name);
      if (ch.creator !== undefined) {
        const left = (this.channelsByClient.get(ch.creator) ?? 1) - 1;
        if (left <= 0) this.channelsByClient.delete(ch.creator);
        else this.channelsByClient.set(ch.creator, left);
      }
    }
    ch.closed = true;
    if (ch.idleTimer) clearTimeout(ch.idleTimer);
    ch.idleTimer = undefined;
    for (const seg of ch.slots) seg?.close();
    if (announce && ch.name !== CHANGEFEED) this.publishChange({ removed: [ch.name] });
    const grace = this.options.closedGraceMs;
    if (grace > 0 && !this.stopped && !this.channels.has(ch.name)) {
      this.forget(ch.name);
      const timer = setTimeout(() => {
        if (this.closedChannels.get(ch.name)?.channel === ch) this.closedChannels.delete(ch.name);
        ch.dropSegments();
      }, grace);
      timer.unref();
      this.closedChannels.set(ch.name, { channel: ch, timer });
    } else {
      ch.dropSegments();
    }
  }

  private forget(name: string): void {
    const closed = this.closedChannels.get(name);
    if (!closed) return;
    clearTimeout(closed.timer);
    this.closedChannels.delete(name);
    closed.channel.dropSegments();
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.authToken) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(headerString(req.headers.authorization));
    if (!m) return false;
    const given = Buffer.from(m[1] as string);
    return given.length === this.authToken.length && timingSafeEqual(given, this.authToken);
  }

  /**
   * Keeps the bytes of all segments within `maxRetainedBytes`, synchronously (a publisher never
   * waits): retained segments nobody reads go first (oldest first); then readers of complete or
   * evicted segments are cut; last, segments still being written are cut, largest first. Every
   * step frees its bytes synchronously (a cut reader still flushing drops its socket's queue), so
   * the loop never cuts more than the budget needs; a segment with no bytes yet is never cut.
   */
  private enforceBudget(writing: Segment): void {
    const max = this.segmentBudget();
    const m = this.memory;
    if (m.bytes + m.pooledBytes > max) m.shrinkPool(max);
    if (m.bytes <= max) return;
    for (const seg of [...m.live]) {
      if (m.bytes <= max) return;
      if (seg.closed && seg.inSlot && seg.readers.size === 0) this.evict(seg);
    }
    for (const seg of [...m.live]) {
      if (m.bytes <= max) return;
      if (seg.closed || !seg.inSlot) {
        this.evict(seg);
        for (const reader of [...seg.readers]) reader.cut();
      }
    }
    const open = [...m.live].filter((seg) => !seg.closed).sort((a, b) => b.bytes - a.bytes || (a === writing ? 1 : b === writing ? -1 : 0));
    for (const seg of open) {
      if (m.bytes <= max) return;
      // Cutting it would free nothing.
      if (seg.bytes === 0) continue;
      this.counts.segmentsCut += 1;
      seg.cutShort();
      this.evict(seg);
      for (const reader of [...seg.readers]) reader.cut();
    }
  }

  /**
   * The bytes segments may hold now: `maxRetainedBytes`, less (scope `'process'`) the RSS growth
   * that segments do not account for and a 1/64 headroom for what grows between two RSS samples,
   * at least a quarter of the budget.
   */
  private segmentBudget(): number {
    const max = this.options.maxRetainedBytes;
    if (this.options.memoryBudgetScope !== 'process') return max;
    const now = performance.now();
    if (now - this.rssSampledAt >= RSS_SAMPLE_INTERVAL_MS) {
      this.rssSampledAt = now;
      this.rssOverhead = Math.max(0, process.memoryUsage.rss() - this.rssBaseline - this.memory.bytes - this.memory.pooledBytes);
    }
    return Math.max(Math.floor(max / 4), max - this.rssOverhead - Math.floor(max / 64));
  }

  /**
   * Takes `bytes` from the client's upload bucket; when it runs dry, pauses `req` for as long as the
   * deficit takes to refill (the client's TCP window closes meanwhile: no work here, no buffering).
   */
  private throttleUpload(client: string, req: IncomingMessage, bytes: number): void {
    const rate = this.options.maxClientBytesPerSecond;
    const now = performance.now();
    const bucket = this.uploadBuckets.get(client) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 1000) - bytes;
    bucket.at = now;
    this.uploadBuckets.set(client, bucket);
    if (bucket.tokens >= 0) return;
    this.counts.uploadsThrottled += 1;
    req.pause();
    setTimeout(() => req.resume(), Math.ceil((-bucket.tokens * 1000) / rate)).unref();
  }

  /** The address a request came from (the unit of per-client fairness). */
  private clientOf(req: IncomingMessage): string {
    const socket = req.socket;
    if (!socket) return '';
    return this.clientBySocket.get(socket) ?? socket.remoteAddress ?? '';
  }

  /** Whether a client may create one more channel over HTTP (`maxChannelsPerClient`); counts a refusal. */
  private clientMayCreate(client: string): boolean {
    if ((this.channelsByClient.get(client) ?? 0) < this.options.maxChannelsPerClient) return true;
    this.counts.clientLimitRefusals += 1;
    return false;
  }

  private evict(seg: Segment): void {
    if (seg.inSlot) this.counts.segmentsEvicted += 1;
    seg.leaveSlot();
  }

  /** The channel a GET reads: a live one, or one closed less than `closedGraceMs` ago. */
  private readableChannel(name: string): Channel | undefined {
    return this.channels.get(name) ?? this.closedChannels.get(name)?.channel;
  }

  /** Records a write time (segment start): re-arms the idle timer. GETs never call this. */
  private touch(ch: Channel): void {
    const timeout = this.options.idleTimeoutMs;
    if (timeout === 0 || ch.name.startsWith('_') || ch.closed) return;
    if (ch.idleTimer) {
      ch.idleTimer.refresh();
      return;
    }
    ch.idleTimer = setTimeout(() => {
      ch.idleTimer = undefined;
      if (this.channels.get(ch.name) === ch) this.closeChannel(ch, true);
    }, timeout);
    ch.idleTimer.unref();
  }

  private publishChange(event: { added?: string[]; removed?: string[] }): void {
    const feed = this.channels.get(CHANGEFEED);
    if (!this.options.changefeed || !feed || this.stopped) return;
    const idx = feed.nextWrite;
    const seg = feed.getForWrite(idx);
    feed.nextWrite = idx + 1;
    seg.append(Buffer.from(JSON.stringify(event)));
    seg.close();
  }

  // ---------------------------------------------------------------- routing

  private route(req: IncomingMessage, res: ServerResponse, rest: string): void {
    const parts = rest.split('/');
    if (parts.some((p) => p.length === 0 || p === '.' || p === '..') || parts.length > 2) {
      notFoundPage(res);
      return;
    }
    let decoded: string[];
    try {
      decoded = parts.map((p) => decodeURIComponent(p));
    } catch {
      httpError(res, 400, 'Bad Request');
      return;
    }
    const method = req.method ?? 'GET';
    const name = decoded[0] as string;
    if (decoded.length === 1) {
      if (method === 'POST') this.handleCreate(req, res, name);
      else if (method === 'DELETE') this.handleDelete(res, name);
      else methodNotAllowed(res, 'DELETE, POST');
      return;
    }
    const idxText = decoded[1] as string;
    switch (method) {
      case 'GET':
      case 'HEAD':
        if (idxText === 'next') this.handleNext(res, name);
        else this.handleGet(req, res, name, idxText);
        return;
      case 'POST':
        this.handlePost(req, res, name, idxText);
        return;
      case 'DELETE':
        this.handleCloseSeq(res, name, idxText);
        return;
      default:
        methodNotAllowed(res, 'DELETE, GET, HEAD, POST');
    }
  }

  // ---------------------------------------------------------------- handlers

  /** `POST {ch}`: create a channel (only with autocreate); mime from `Expect-Content`. */
  private handleCreate(req: IncomingMessage, res: ServerResponse, name: string): void {
    req.resume();
    if (!this.options.autocreate) {
      httpError(res, 404, 'Stream not found');
      return;
    }
    if (!this.channels.has(name)) {
      const client = this.clientOf(req);
      if (!this.clientMayCreate(client)) {
        httpError(res, 429, 'Too many channels from this client');
        return;
      }
      if (!this.addChannel(name, headerString(req.headers[HEADER_EXPECT_CONTENT.toLowerCase()]), client)) {
        httpError(res, 429, 'Too many channels');
        return;
      }
    }
    res.end();
  }

  /** `DELETE {ch}`: close and remove. */
  private handleDelete(res: ServerResponse, name: string): void {
    const ch = this.channels.get(name);
    if (!ch) {
      httpError(res, 400, 'Invalid stream');
      return;
    }
    this.closeChannel(ch, true);
    res.end();
  }

  /** `GET {ch}/next`: the channel's nextWrite. */
  private handleNext(res: ServerResponse, name: string): void {
    const ch = this.readableChannel(name);
    if (!ch) {
      httpError(res, 404, 'Stream not found');
      return;
    }
    res.setHeader(HEADER_LATEST, String(ch.nextWrite));
    if (ch.closed) res.setHeader(HEADER_CLOSED, CLOSED_VALUE);
    res.setHeader('Content-Type', TEXT_PLAIN);
    res.end(String(ch.nextWrite));
  }

  /** `DELETE {ch}/{idx}`: close (not remove) one retained segment. */
  private handleCloseSeq(res: ServerResponse, name: string, idxText: string): void {
    const ch = this.channels.get(name);
    if (!ch) {
      httpError(res, 404, 'Stream not found');
      return;
    }
    const idx = parseSeq(idxText);
    if (idx === undefined || idx < 0) {
      // Go panics on negative indexes here (and wedges the channel for -1); we answer 400.
      httpError(res, 400, 'Invalid idx');
      return;
    }
    const seg = ch.slots[idx % SEGMENTS_PER_CHANNEL];
    if (!seg || seg.idx !== idx) {
      httpError(res, 400, 'Nonexistent segment');
      return;
    }
    seg.close();
    res.end();
  }

  /** `GET {ch}/{idx}`: stream one segment from byte 0, waiting for it if it is the leading one. */
  private handleGet(req: IncomingMessage, res: ServerResponse, name: string, idxText: string): void {
    const ch = this.readableChannel(name);
    if (!ch) {
      httpError(res, 404, 'Stream not found');
      return;
    }
    const requested = parseSeq(idxText);
    if (requested === undefined || (requested < 0 && requested !== SEQ_NEXT && requested !== SEQ_CURRENT)) {
      httpError(res, 400, 'Invalid idx');
      return;
    }
    const latestAtRequest = ch.nextWrite;
    const { idx, seg } = ch.getForRead(requested);
    if (!seg) {
      res.setHeader(HEADER_SEQ, String(idx));
      res.setHeader(HEADER_LATEST, String(ch.nextWrite));
      res.setHeader('Content-Type', TEXT_PLAIN);
      if (ch.closed) {
        res.setHeader(HEADER_CLOSED, CLOSED_VALUE);
        res.end('Entry not found');
      } else {
        res.writeHead(STATUS_SEQ_NONEXISTENT, 'status code 470');
        res.end('Entry not found');
      }
      return;
    }
    const client = this.clientOf(req);
    const fromClient = ch.subscribersByClient.get(client) ?? 0;
    if (fromClient >= this.options.maxSubscribersPerClient) {
      this.counts.clientLimitRefusals += 1;
      httpError(res, 429, 'Too many subscribers from this client');
      return;
    }
    if (ch.subscribers >= this.options.maxSubscribersPerChannel) {
      httpError(res, 429, 'Too many subscribers');
      return;
    }
    ch.subscribers++;
    ch.subscribersByClient.set(client, fromClient + 1);
    req.resume();
    const onDone = (): void => {
      ch.subscribers--;
      const left = (ch.subscribersByClient.get(client) ?? 1) - 1;
      if (left <= 0) ch.subscribersByClient.delete(client);
      else ch.subscribersByClient.set(client, left);
    };
    const onCut = (): void => {
      this.counts.readersCut += 1;
    };
    const reader = new SegmentReader(ch, seg, res, latestAtRequest, this.options.readerStallTimeoutMs, onDone, onCut);
    seg.readers.add(reader);
    reader.pump();
  }

  /** `POST {ch}/{idx}`: append the streaming body to the segment; reply once the body ends. */
  private handlePost(req: IncomingMessage, res: ServerResponse, name: string, idxText: string): void {
    let ch = this.channels.get(name);
    if (!ch) {
      if (!this.options.autocreate) {
        res.setHeader('Connection', 'close');
        httpError(res, 404, 'Stream not found');
        return;
      }
      const client = this.clientOf(req);
      if (!this.clientMayCreate(client)) {
        res.setHeader('Connection', 'close');
        httpError(res, 429, 'Too many channels from this client');
        return;
      }
      ch = this.addChannel(name, headerString(req.headers['content-type']), client);
      if (!ch) {
        res.setHeader('Connection', 'close');
        httpError(res, 429, 'Too many channels');
        return;
      }
    }
    const requested = parseSeq(idxText);
    if (requested === undefined || (requested < 0 && requested !== SEQ_NEXT)) {
      res.setHeader('Connection', 'close');
      httpError(res, 400, 'Invalid idx');
      return;
    }
    const channel = ch;
    const idx = requested === SEQ_NEXT ? channel.nextWrite : requested;
    if (idx >= Number.MAX_SAFE_INTEGER) {
      // The next write would be past 2^53 - 1, where `idx + 1 === idx`: the channel would wedge
      // (every later -1 write lands on the same closed segment and is dropped). Refuse instead.
      res.setHeader('Connection', 'close');
      httpError(res, 400, 'Invalid idx: sequence numbers are exhausted');
      return;
    }
    const seg = channel.getForWrite(idx);
    const reset = req.headers[HEADER_RESET.toLowerCase()];
    if (reset !== undefined && reset !== '') {
      for (const other of channel.slots) if (other && other.idx < idx) other.close();
    }

    const maxBytes = this.options.maxSegmentBytes;
    const uploader = this.clientOf(req);
    let bytes = 0;
    let replied = false;
    let interim: NodeJS.Timeout | undefined;
    let idleTimer: NodeJS.Timeout | undefined;

    const stopWaiting = (): void => {
      if (interim) clearInterval(interim);
      interim = undefined;
      seg.closeWaiters.delete(onSegmentClosed);
    };
    /** Ends the POST early: its segment is cut (readers see an incomplete segment) and the connection closed. */
    const cutWithError = (status: number, message: string): void => {
      clearTimeout(idleTimer);
      replied = true;
      stopWaiting();
      if (!seg.cut) this.counts.segmentsCut += 1;
      seg.cutShort();
      res.setHeader('Connection', 'close');
      res.setHeader(HEADER_SEQ, String(idx));
      httpError(res, status, message);
      req.on('end', () => req.socket?.destroy());
    };
    // Zero bytes read (empty body, or the segment closed before the first byte): Go's EOF path.
    const replyEmpty = (): void => {
      stopWaiting();
      replied = true;
      channel.nextWrite = idx + 1;
      this.touch(channel);
      seg.close();
      res.setHeader(HEADER_SEQ, String(idx));
      if (channel.closed) res.setHeader(HEADER_CLOSED, CLOSED_VALUE);
      res.setHeader('Connection', 'close');
      res.end();
    };
    function onSegmentClosed(): void {
      if (!replied && bytes === 0) replyEmpty();
    }

    if (seg.closed) {
      // Re-POST onto a closed, retained segment: answered at once, body dropped (as Go; docs/protocol.md, conformance case 21).
      replyEmpty();
      return;
    }
    seg.closeWaiters.add(onSegmentClosed);
    interim = setInterval(() => {
      if (!res.writableEnded && !res.headersSent) res.writeContinue();
    }, this.options.interimIntervalMs);
    interim.unref();

    const onBody = (chunk: Buffer): void => {
      if (replied) return;
      if (bytes === 0) {
        stopWaiting();
        channel.nextWrite = idx + 1;
        this.touch(channel);
        idleTimer = setTimeout(() => {
          if (!replied) cutWithError(408, 'Segment body idle');
        }, this.options.bodyIdleTimeoutMs);
        idleTimer.unref();
      } else idleTimer?.refresh();
      if (seg.cut) {
        // Cut meanwhile by the memory budget.
        cutWithError(507, 'Trickle server memory budget exceeded');
        return;
      }
      if (bytes + chunk.length > maxBytes) {
        const room = maxBytes - bytes;
        if (room > 0) seg.append(chunk.subarray(0, room));
        bytes = maxBytes;
        cutWithError(413, 'Segment too large');
        return;
      }
      bytes += chunk.length;
      // Appended even when the segment was closed meanwhile ("late bytes", as in Go).
      seg.append(chunk);
      this.throttleUpload(uploader, req, chunk.length);
      if (seg.cut && !replied) cutWithError(507, 'Trickle server memory budget exceeded');
    };
    req.on('data', (chunk: Buffer) => {
      onBody(chunk);
      // Its bytes are in the segment's slabs now (or dropped): free it at once rather than leave
      // it to the garbage collector (slab-memory.ts), unless another listener (an app the server
      // is mounted in) may still read it.
      if (req.listenerCount('data') === 1) this.memory.source.releaseChunk(chunk);
    });
    req.on('end', () => {
      clearTimeout(idleTimer);
      if (replied) return;
      if (bytes === 0) {
        replyEmpty();
        return;
      }
      replied = true;
      seg.close();
      res.setHeader(HEADER_SEQ, String(idx));
      res.end();
    });
    req.on('close', () => {
      clearTimeout(idleTimer);
      if (replied || req.complete) return;
      // The publisher went away mid-body. With no byte yet the segment stays open (a retry can
      // fill it, as in Go). After some bytes Go leaves it open too, hanging its readers until a
      // DELETE; we end it now as cut, so its readers get an aborted response, never one that looks
      // complete.
      replied = true;
      stopWaiting();
      if (bytes > 0 && !seg.closed) {
        this.counts.segmentsCut += 1;
        seg.cutShort();
      }
    });
  }
}

function noop(): void {}

const LIMIT_KEYS = [
  'idleTimeoutMs',
  'interimIntervalMs',
  'maxSegmentBytes',
  'maxChannels',
  'maxSubscribersPerChannel',
  'closedGraceMs',
  'maxRetainedBytes',
  'readerStallTimeoutMs',
  'bodyIdleTimeoutMs',
  'headersTimeoutMs',
  'keepAliveTimeoutMs',
  'maxConnections',
  'maxConnectionsPerClient',
  'maxChannelsPerClient',
  'maxSubscribersPerClient',
  'maxClientBytesPerSecond',
] as const;


function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function headerString(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Go `http.Error`: text/plain, nosniff, message plus newline. */
function httpError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('Content-Type', TEXT_PLAIN);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.writeHead(status);
  res.end(`${message}\n`);
}

function notFoundPage(res: ServerResponse): void {
  httpError(res, 404, '404 page not found');
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  httpError(res, 405, 'Method Not Allowed');
}
