/**
 * A deliberately misbehaving trickle server for client tests, over raw node:net: each request is
 * handed to a script that may answer anything (interim responses, 470 without headers, bodies cut
 * mid-way, stalled headers, resets). One request per connection; every answer closes it.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface ScriptedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  socket: Socket;
  /** Index of this request among those for the same method + path (0 = first). */
  attempt: number;
  /** Reads the whole request body (chunked or Content-Length). */
  body(): Promise<Buffer>;
  /** Resolves once n body bytes arrived (chunked or Content-Length); the body keeps flowing. */
  bodyBytes(n: number): Promise<Buffer>;
  /** Writes a complete response (with `Connection: close` unless `headers` override it) and closes the connection. */
  respond(status: number, headers?: Record<string, string>, body?: string | Buffer, reason?: string): void;
  /** Writes a response head with a chunked body left open. */
  startChunked(status: number, headers?: Record<string, string>): void;
  chunk(data: string | Buffer): void;
  /** Ends a chunked body and closes. */
  endChunked(): void;
  /** Sends an interim `100 Continue`. */
  interim(): void;
}

export type Script = (req: ScriptedRequest) => unknown;

export class MisbehavingServer {
  readonly log: Array<{ method: string; path: string; headers: Record<string, string> }> = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly script: Script) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  count(method: string, path: string): number {
    return this.log.filter((r) => r.method === method && r.path === path).length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onHead = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      socket.pause();
      const [line = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const rest = buf.subarray(end + 4);
      const [method = '', path = ''] = line.split(' ');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const key = `${method} ${path}`;
      const attempt = this.counts.get(key) ?? 0;
      this.counts.set(key, attempt + 1);
      this.log.push({ method, path, headers });
      void this.script(makeRequest(method, path, headers, socket, rest, attempt));
    };
    socket.on('data', onHead);
  }
}

function makeRequest(method: string, path: string, headers: Record<string, string>, socket: Socket, initial: Buffer, attempt: number): ScriptedRequest {
  // Body decoding (chunked or Content-Length), started lazily.
  let raw = initial;
  const body: Buffer[] = [];
  let bodyLen = 0;
  let done = false;
  const waiters: Array<() => void> = [];
  let started = false;
  const chunked = headers['transfer-encoding']?.toLowerCase() === 'chunked';
  let left = chunked ? -1 : Number(headers['content-length'] ?? 0);
  const parse = (): void => {
    for (;;) {
      if (done) break;
      if (!chunked) {
        const take = Math.min(left, raw.length);
        if (take > 0) {
          body.push(raw.subarray(0, take));
          bodyLen += take;
          raw = raw.subarray(take);
          left -= take;
        }
        if (left === 0) done = true;
        break;
      }
      if (left < 0) {
        const eol = raw.indexOf('\r\n');
        if (eol < 0) break;
        const size = parseInt(raw.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) {
          done = true;
          break;
        }
        raw = raw.subarray(eol + 2);
        left = size;
      }
      const take = Math.min(left, raw.length);
      body.push(raw.subarray(0, take));
      bodyLen += take;
      raw = raw.subarray(take);
      left -= take;
      if (left > 0 || raw.length < 2) break;
      raw = raw.subarray(2);
      left = -1;
    }
    for (const w of waiters.splice(0)) w();
  };
  const start = (): void => {
    if (started) return;
    started = true;
    socket.on('data', (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      parse();
    });
    socket.on('close', () => {
      done = true;
      for (const w of waiters.splice(0)) w();
    });
    socket.resume();
    parse();
  };
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else waiters.push(check);
      };
      check();
    });
  const head = (status: number, reason: string, h: Record<string, string>): string =>
    `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return {
    method,
    path,
    headers,
    socket,
    attempt,
    async body() {
      start();
      await until(() => done);
      return Buffer.concat(body);
    },
    async bodyBytes(n: number) {
      start();
      await until(() => bodyLen >= n || done);
      return Buffer.concat(body);
    },
    respond(status, h = {}, b = '', reason = 'OK') {
      const data = typeof b === 'string' ? Buffer.from(b) : b;
      socket.write(head(status, reason, { 'Content-Length': String(data.length), Connection: 'close', ...h }));
      socket.end(data);
    },
    startChunked(status, h = {}) {
      socket.write(head(status, 'OK', { 'Transfer-Encoding': 'chunked', Connection: 'close', ...h }));
    },
    chunk(data) {
      const b = typeof data === 'string' ? Buffer.from(data) : data;
      socket.write(`${b.length.toString(16)}\r\n`);
      socket.write(b);
      socket.write('\r\n');
    },
    endChunked() {
      socket.end('0\r\n\r\n');
    },
    interim() {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    },
  };
}
