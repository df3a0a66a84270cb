/**
 * A raw HTTP/1.1 client over node:net for protocol tests: it shows what node:http hides (interim
 * `100 Continue` responses, the exact status line, `Connection: close` followed by the socket
 * closing) and lets a test write a request body piece by piece or abort it mid-body.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** e.g. `HTTP/1.1 470 status code 470` */
  statusLine: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Resolves with the whole body once it has ended (empty for 1xx / HEAD). */
  body: Promise<Buffer>;
  /** The body bytes received so far. */
  bodySoFar(): Buffer;
  /** Resolves once at least n body bytes arrived. */
  waitBody(n: number): Promise<Buffer>;
  chunked: boolean;
}

interface Pending {
  resolve(r: RawResponse): void;
  reject(e: Error): void;
}

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

export class RawConn {
  private buf = Buffer.alloc(0);
  private readonly queue: RawResponse[] = [];
  private readonly waiters: Pending[] = [];
  /** Methods of requests sent, in order, to know which responses have no body. */
  private readonly methods: string[] = [];
  private current: { resp: RawResponse; mode: BodyMode; parts: Buffer[]; finish(): void; notify(): void } | undefined;
  private chunkState: { left: number } | undefined;
  private isClosed = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        if (this.current && this.current.mode.kind === 'close') this.current.finish();
        for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed before a response'));
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Writes a request head (and an optional complete body). `chunked: true` leaves a chunked body open. */
  request(method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {}): void {
    const headers: Record<string, string> = { Host: 'test', ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    else if (opts.chunked) headers['Transfer-Encoding'] = 'chunked';
    const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    this.methods.push(method);
    this.socket.write(head);
    if (opts.body !== undefined) this.socket.write(opts.body);
  }

  /** Writes one chunk of a chunked body. */
  chunk(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (b.length === 0) return;
    this.socket.write(`${b.length.toString(16)}\r\n`);
    this.socket.write(b);
    this.socket.write('\r\n');
  }

  /** Ends a chunked body. */
  endChunks(): void {
    this.socket.write('0\r\n\r\n');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The next response (interim 1xx responses included), once its head has arrived. */
  response(): Promise<RawResponse> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private deliver(r: RawResponse): void {
    const w = this.waiters.shift();
    if (w) w.resolve(r);
    else this.queue.push(r);
  }

  private parse(): void {
    for (;;) {
      if (!this.current) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        this.startResponse(head);
        continue;
      }
      const cur = this.current;
      const mode = cur.mode;
      if (mode.kind === 'none') {
        cur.finish();
        continue;
      }
      if (mode.kind === 'close') {
        if (this.buf.length) {
          cur.parts.push(this.buf);
          this.buf = Buffer.alloc(0);
          cur.notify();
        }
        return;
      }
      if (mode.kind === 'length') {
        const take = Math.min(mode.left, this.buf.length);
        if (take > 0) {
          cur.parts.push(this.buf.subarray(0, take));
          this.buf = this.buf.subarray(take);
          mode.left -= take;
          cur.notify();
        }
        if (mode.left === 0) {
          cur.finish();
          continue;
        }
        return;
      }
      // chunked
      if (!this.chunkState) {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
        this.buf = this.buf.subarray(eol + 2);
        if (size === 0) {
          const endT = this.buf.indexOf('\r\n');
          if (endT < 0) {
            this.chunkState = { left: -1 };
            return;
          }
          this.buf = this.buf.subarray(endT + 2);
          cur.finish();
          continue;
        }
        this.chunkState = { left: size };
      }
      if (this.chunkState.left === -1) {
        const endT = this.buf.indexOf('\r\n');
        if (endT < 0) return;
        this.buf = this.buf.subarray(endT + 2);
        this.chunkState = undefined;
        cur.finish();
        continue;
      }
      const take = Math.min(this.chunkState.left, this.buf.length);
      if (take > 0) {
        cur.parts.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.chunkState.left -= take;
        cur.notify();
      }
      if (this.chunkState.left > 0) return;
      if (this.buf.length < 2) return;
      this.buf = this.buf.subarray(2);
      this.chunkState = undefined;
    }
  }

  private startResponse(head: string): void {
    const [statusLine = '', ...lines] = head.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    const interim = status >= 100 && status < 200;
    const method = interim ? 'GET' : (this.methods.shift() ?? 'GET');
    let mode: BodyMode;
    if (interim || method === 'HEAD' || status === 204 || status === 304) mode = { kind: 'none' };
    else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') mode = { kind: 'chunked' };
    else if (headers['content-length'] !== undefined) mode = { kind: 'length', left: Number(headers['content-length']) };
    else mode = { kind: 'close' };
    const parts: Buffer[] = [];
    let resolveBody!: (b: Buffer) => void;
    const body = new Promise<Buffer>((r) => (resolveBody = r));
    const byteWaiters: Array<{ n: number; resolve(b: Buffer): void }> = [];
    const soFar = (): Buffer => Buffer.concat(parts);
    let ended = false;
    const notify = (): void => {
      const got = parts.reduce((a, p) => a + p.length, 0);
      for (const w of [...byteWaiters]) {
        if (got >= w.n || ended) {
          byteWaiters.splice(byteWaiters.indexOf(w), 1);
          w.resolve(soFar());
        }
      }
    };
    const resp: RawResponse = {
      statusLine,
      status,
      headers,
      body,
      chunked: mode.kind === 'chunked',
      bodySoFar: soFar,
      waitBody: (n) => {
        const got = soFar();
        if (got.length >= n || ended) return Promise.resolve(got);
        return new Promise((resolve) => byteWaiters.push({ n, resolve }));
      },
    };
    this.current = {
      resp,
      mode,
      parts,
      notify,
      finish: () => {
        ended = true;
        this.current = undefined;
        this.chunkState = undefined;
        notify();
        resolveBody(soFar());
      },
    };
    this.deliver(resp);
  }
}

/** Opens a connection, sends one request with a complete body (or none), returns the first non-1xx response. */
export async function rawOnce(port: number, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse & { conn: RawConn; text: string }> {
  const conn = await RawConn.open(port);
  conn.request(method, path, opts);
  let r = await conn.response();
  while (r.status < 200) r = await conn.response();
  const text = (await r.body).toString();
  return Object.assign(r, { conn, text });
}

/** Resolves 'pending' if the promise has not settled within ms (to show that a request waits). */
export async function stillPending<T>(p: Promise<T>, ms = 150): Promise<'pending' | T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
