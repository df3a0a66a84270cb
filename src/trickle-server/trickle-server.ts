/**
 * An embedded trickle server (node:http), behaving on the wire like go-livepeer's `trickle` server
 * (trickle/trickle_server.go at 176aa415). Deliberate deviations (400 instead of Go's panics, the
 * limits, closing a segment whose publisher aborted mid-body, ...) are listed in docs/protocol.md.
 *
 * Threading: JS thread only. Memory: every channel retains at most 5 segments; a segment is a list of
 * the request body's own Buffers (no copies), shared by all of its readers. A slow reader is paced
 * by its socket's backpressure (it never makes the server buffer more than the segment itself).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
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
} satisfies Required<TrickleServerOptions>;

const CHANGEFEED = '_changes';
const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** One segment: an append-only list of body chunks plus a one-way closed flag. */
class Segment {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  closed = false;
  /** GETs attached to this segment (they keep it alive after eviction). */
  readonly readers = new Set<SegmentReader>();
  /** POSTs waiting for their first byte; they end when the segment closes. */
  readonly closeWaiters = new Set<() => void>();

  constructor(readonly idx: number) {}

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    for (const reader of this.readers) reader.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of [...this.closeWaiters]) waiter();
    this.closeWaiters.clear();
    for (const reader of [...this.readers]) reader.pump();
  }
}

class Channel {
  nextWrite = 0;
  closed = false;
  subscribers = 0;
  readonly slots: Array<Segment | undefined> = new Array<Segment | undefined>(SEGMENTS_PER_CHANNEL);
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly mime: string,
  ) {}

  /** Go `getForWrite`: reuse the segment of the same idx, else close and replace the slot's occupant. */
  getForWrite(idx: number): Segment {
    const slot = idx % SEGMENTS_PER_CHANNEL;
    const existing = this.slots[slot];
    if (existing && existing.idx === idx) return existing;
    existing?.close();
    const seg = new Segment(idx);
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
      const seg = new Segment(idx);
      this.slots[slot] = seg;
      return { idx, seg };
    }
    return { idx, seg: undefined };
  }

  retained(): Segment[] {
    return this.slots.filter((s): s is Segment => s !== undefined).sort((a, b) => a.idx - b.idx);
  }
}

/** Streams one segment to one GET, from byte 0, as bytes arrive; paced by the socket. */
class SegmentReader {
  /** Bytes handed to the socket. */
  sent = 0;
  private pos = 0;
  private awaitingDrain = false;
  private started = false;
  private done = false;

  constructor(
    private readonly channel: Channel,
    private readonly seg: Segment,
    private readonly res: ServerResponse,
    private readonly latestAtRequest: number,
    private readonly onDone: () => void,
  ) {
    res.on('close', () => this.finish(false));
    res.on('drain', () => {
      this.awaitingDrain = false;
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
        return;
      }
    }
    if (this.seg.closed) {
      if (!this.started) this.writeEmptyReply();
      else this.res.end();
      this.finish(true);
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

  private finish(_complete: boolean): void {
    if (this.done) return;
    this.done = true;
    this.seg.readers.delete(this);
    this.onDone();
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
  private readonly options: Required<TrickleServerOptions>;
  private readonly channels = new Map<string, Channel>();
  /** Closed channels still answering GETs during `closedGraceMs`. */
  private readonly closedChannels = new Map<string, { channel: Channel; timer: NodeJS.Timeout }>();
  private readonly sockets = new Set<Socket>();
  private httpServer: Server | undefined;
  private stopped = false;

  constructor(options: TrickleServerOptions = {}) {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    let base = o.basePath;
    if (typeof base !== 'string' || !base.startsWith('/')) throw invalidArg('basePath', 'a path starting with "/"', base);
    if (!base.endsWith('/')) base += '/';
    o.basePath = base;
    for (const key of ['idleTimeoutMs', 'interimIntervalMs', 'maxSegmentBytes', 'maxChannels', 'maxSubscribersPerChannel', 'closedGraceMs'] as const) {
      const v = o[key];
      const min = key === 'idleTimeoutMs' || key === 'closedGraceMs' ? 0 : 1;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidArg(key, min === 0 ? 'a non-negative integer' : 'a positive integer', v);
    }
    this.options = o;
    if (o.changefeed) this.addChannel(CHANGEFEED, 'application/json');
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
    if (!this.addChannel(name, mime)) {
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
    this.route(req, res, rawPath.slice(this.options.basePath.length));
    return true;
  }

  /** Starts listening; resolves to the bound port (pass 0 for an ephemeral one). */
  async listen(port = 0, host?: string): Promise<number> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArg('port', 'an integer 0..65535', port);
    if (this.httpServer) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'The trickle server is already listening');
    if (this.stopped) throw new TrickleError(ErrorCodes.ERR_CLOSED, 'The trickle server is closed');
    const server = createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => {
      if (!this.handleRequest(req, res)) notFoundPage(res);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A malformed request (bad request line, invalid escape) gets 400, never a crash.
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
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
    for (const ch of [...this.channels.values()]) this.closeChannel(ch, false);
    for (const { timer } of this.closedChannels.values()) clearTimeout(timer);
    this.closedChannels.clear();
    const server = this.httpServer;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Give replies just written (EOS) a turn to flush, then drop what is left.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // ---------------------------------------------------------------- channel bookkeeping

  private addChannel(name: string, mime: string): Channel | undefined {
    if (this.channels.size >= this.options.maxChannels) return undefined;
    const ch = new Channel(name, mime);
    this.forget(name);
    this.channels.set(name, ch);
    this.touch(ch);
    this.publishChange({ added: [name] });
    return ch;
  }

  /** Go `closeStream`: close every retained segment, mark closed, remove from the map. */
  private closeChannel(ch: Channel, announce: boolean): void {
    if (this.channels.get(ch.name) === ch) this.channels.delete(ch.name);
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
      }, grace);
      timer.unref();
      this.closedChannels.set(ch.name, { channel: ch, timer });
    }
  }

  private forget(name: string): void {
    const closed = this.closedChannels.get(name);
    if (!closed) return;
    clearTimeout(closed.timer);
    this.closedChannels.delete(name);
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
    if (!this.channels.has(name) && !this.addChannel(name, headerString(req.headers[HEADER_EXPECT_CONTENT.toLowerCase()]))) {
      httpError(res, 429, 'Too many channels');
      return;
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
    if (ch.subscribers >= this.options.maxSubscribersPerChannel) {
      httpError(res, 429, 'Too many subscribers');
      return;
    }
    ch.subscribers++;
    req.resume();
    const reader = new SegmentReader(ch, seg, res, latestAtRequest, () => {
      ch.subscribers--;
    });
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
      ch = this.addChannel(name, headerString(req.headers['content-type']));
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
    const seg = channel.getForWrite(idx);
    const reset = req.headers[HEADER_RESET.toLowerCase()];
    if (reset !== undefined && reset !== '') {
      for (const other of channel.slots) if (other && other.idx < idx) other.close();
    }

    const maxBytes = this.options.maxSegmentBytes;
    let bytes = 0;
    let replied = false;
    let interim: NodeJS.Timeout | undefined;

    const stopWaiting = (): void => {
      if (interim) clearInterval(interim);
      interim = undefined;
      seg.closeWaiters.delete(onSegmentClosed);
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

    req.on('data', (chunk: Buffer) => {
      if (replied) return;
      if (bytes === 0) {
        stopWaiting();
        channel.nextWrite = idx + 1;
        this.touch(channel);
      }
      if (bytes + chunk.length > maxBytes) {
        const room = maxBytes - bytes;
        if (room > 0) seg.append(chunk.subarray(0, room));
        bytes = maxBytes;
        replied = true;
        seg.close();
        res.setHeader('Connection', 'close');
        res.setHeader(HEADER_SEQ, String(idx));
        httpError(res, 413, 'Segment too large');
        return;
      }
      bytes += chunk.length;
      // Appended even when the segment was closed meanwhile ("late bytes", as in Go).
      seg.append(chunk);
    });
    req.on('end', () => {
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
      if (replied || req.complete) return;
      // The publisher went away mid-body. With no byte yet the segment stays open (a retry can
      // fill it, as in Go). After some bytes Go leaves it open too, hanging its readers until a
      // DELETE; we close it now, which is what the reference publisher's DELETE would do.
      replied = true;
      stopWaiting();
      if (bytes > 0) seg.close();
    });
  }
}

function noop(): void {}

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
