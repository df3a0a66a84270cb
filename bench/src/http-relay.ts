/**
 * The B6 anchor: the simplest possible relay with plain node:http. `POST /{ch}/{seq}` is piped
 * (chunked, with backpressure) into the matching `GET /{ch}/{seq}`, whichever arrives first waits
 * for the other. No retention, no protocol: the floor any HTTP relay on this Node pays.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class PlainHttpRelay {
  private server: Server | undefined;
  private readonly pending = new Map<string, { post?: { req: IncomingMessage; res: ServerResponse }; get?: ServerResponse }>();
  private readonly sockets = new Set<Socket>();

  async listen(): Promise<number> {
    const server = createServer({ requestTimeout: 0 }, (req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const key = req.url ?? '/';
    const entry = this.pending.get(key) ?? {};
    if (req.method === 'POST') entry.post = { req, res };
    else if (req.method === 'GET') entry.get = res;
    else {
      res.writeHead(405).end();
      return;
    }
    const { post, get } = entry;
    if (!post || !get) {
      this.pending.set(key, entry);
      return;
    }
    this.pending.delete(key);
    get.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    post.req.pipe(get);
    // The POST's own response is sent once its body is fully relayed.
    post.req.on('end', () => post.res.writeHead(200).end());
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/** A streaming POST body: write() with backpressure, end() resolves with the response. */
export class PostWriter {
  private readonly req;
  private readonly done: Promise<void>;

  constructor(url: URL, agent: Agent) {
    this.req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
    this.req.on('socket', (s) => s.setNoDelay(true));
    this.done = new Promise<void>((resolve, reject) => {
      this.req.on('response', (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST ${url.pathname}: HTTP ${res.statusCode}`))));
      });
      this.req.on('error', reject);
    });
    this.req.flushHeaders();
  }

  /** Resolves at once, or when the socket drains if its buffer is full. */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.req.write(chunk)) return undefined;
    return new Promise((resolve) => this.req.once('drain', resolve));
  }

  end(): Promise<void> {
    this.req.end();
    return this.done;
  }
}

/** GET a URL and hand each chunk to `onChunk` as it arrives; resolves at the end of the body. */
export function getStream(url: URL, agent: Agent, onChunk: (chunk: Buffer) => void): { headers: Promise<number>; done: Promise<void> } {
  let headersResolve!: (status: number) => void;
  const headers = new Promise<number>((r) => (headersResolve = r));
  const done = new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'GET', agent }, (res) => {
      headersResolve(res.statusCode ?? 0);
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode}`)));
        return;
      }
      res.on('data', onChunk);
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', reject);
    req.end();
  });
  return { headers, done };
}
