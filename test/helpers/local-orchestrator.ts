/**
 * A local stand-in for a go-livepeer orchestrator at its defaults, written for tests from reading
 * go-livepeer's source (byoc/job_orchestrator.go, byoc/stream_orchestrator.go,
 * core/external_capabilities.go, ai/runner/live_runner.go, server/ai_http.go, server/cert.go):
 *
 * - HTTPS only, with a self-signed certificate made anew at every (re)start, naming `localhost`
 *   while the service URL uses 127.0.0.1 (go-livepeer's certificate never names an IP);
 * - a trickle server under `/ai/trickle/`;
 * - BYOC: `POST /capability/register` and `/capability/unregister` with the raw `Authorization`
 *   secret (400 `invalid authorization`), and from the test, the orchestrator's side of a stream:
 *   channels, then `POST {url}/stream/start|params|stop` with `X-Stream-Id` and the capability's
 *   bearer token; a 401 from the worker removes the capability (as go-livepeer does);
 * - live runners: `POST /runners/heartbeat` (bootstrap with the secret, then the heartbeat secret;
 *   the record is replaced by each heartbeat), TTL expiry, `POST /runners/{id}/unregister`,
 *   `GET /discovery`, `POST /apps/{id}/session` (503 when full), `POST /apps/{id}/session/{sid}/stop`,
 *   `ANY /apps/{id}/session/{sid}/app/{path}` proxied with the `Livepeer-Session-*` headers, the
 *   session callbacks (`channels`, `stop`) with `Livepeer-Session-Token`, and the O2R channel
 *   (`{"keep":"alive"}`, `reserved` / `released`);
 * - `restart()`: the listener goes away (every connection cut) and comes back on the same port
 *   with a new certificate; by default it forgets everything, as a restarted go-livepeer does.
 *
 * Not emulated: payments, on-chain pricing, single-shot runners, static runners, session proxies
 * (`/proxy`), `-liveRunnerAddr` different from the service address.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { Socket } from 'node:net';

import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleServer } from '../../src/trickle-server/trickle-server';
import { selfSignedCert, type SelfSignedCert } from './self-signed';

export interface LocalOrchestratorOptions {
  /** `-orchSecret` (default a random one). */
  secret?: string;
  /** Live-runner heartbeat interval / TTL / O2R keepalive (go-livepeer: 5 s, 20 s, 10 s). */
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  o2rIntervalMs?: number;
}

export interface Capability {
  name: string;
  description: string;
  url: string;
  capacity: number;
  price_per_unit: number;
  price_scaling: number;
  currency: string;
  token: string;
  load: number;
}

interface Runner {
  id: string;
  seed: Buffer;
  heartbeatSecret: string;
  record: Record<string, unknown>;
  lastHeartbeat: number;
  sessions: Map<string, { createdAt: number; channels: Map<string, string> }>;
  o2rName: string;
  o2r: TricklePublisher | undefined;
  o2rQueue: Promise<unknown>;
  o2rTimer: NodeJS.Timeout | undefined;
}

export interface WorkerReply {
  status: number;
  body: string;
}

export interface ByocStream {
  id: string;
  capability: string;
  /** Channel URLs as handed to the worker. */
  urls: { subscribe_url: string; publish_url: string; control_url: string; events_url: string; data_url: string };
}

const DURATION = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export class LocalOrchestrator {
  readonly secret: string;
  port = 0;
  cert!: SelfSignedCert;
  trickle!: TrickleServer;
  readonly capabilities = new Map<string, Capability>();
  readonly runners = new Map<string, Runner>();
  /** Every request the orchestrator received: method, path, headers, body. */
  readonly log: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }> = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatIntervalMs: number;
  private readonly heartbeatTtlMs: number;
  private readonly o2rIntervalMs: number;

  constructor(options: LocalOrchestratorOptions = {}) {
    this.secret = options.secret ?? randomBytes(12).toString('hex');
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? 20_000;
    this.o2rIntervalMs = options.o2rIntervalMs ?? 10_000;
    this.trickle = new TrickleServer({ basePath: '/ai/trickle/', closedGraceMs: 0 });
  }

  /** `https://127.0.0.1:<port>` (the service URI). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  trickleUrl(channel: string): string {
    return `${this.url}/ai/trickle/${channel}`;
  }

  async start(): Promise<void> {
    this.cert = selfSignedCert('localhost');
    const server = createHttpsServer({ key: this.cert.key, cert: this.cert.cert }, (req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) httpError(res, 500, (err as Error).message);
        else res.destroy();
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.expiryTimer = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.heartbeatIntervalMs / 2)));
    for (const runner of this.runners.values()) this.openO2R(runner);
  }

  /** Stops listening and cuts every connection. With `forget` (default), all state is lost. */
  async stop(forget = true): Promise<void> {
    clearInterval(this.expiryTimer);
    for (const runner of this.runners.values()) this.closeO2R(runner);
    const server = this.server;
    this.server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
    if (forget) {
      await this.trickle.close();
      this.trickle = new TrickleServer({ basePath: '/ai/trickle/', closedGraceMs: 0 });
      this.capabilities.clear();
      this.runners.clear();
    }
  }

  /** Goes away for `downMs`, then listens again on the same port with a new certificate. */
  async restart(options: { downMs?: number; forget?: boolean } = {}): Promise<void> {
    await this.stop(options.forget ?? true);
    await new Promise((r) => setTimeout(r, options.downMs ?? 0));
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop(true);
    await this.trickle.close();
  }

  requests(method: string, path: string): Array<{ headers: IncomingMessage['headers']; body: string }> {
    return this.log.filter((r) => r.method === method && r.path === path);
  }

  // ------------------------------------------------------------------ BYOC, the orchestrator side

  /** Creates the channels of a stream and sends `/stream/start` to the capability's worker. */
  async startStream(capability: string, options: { id?: string; params?: Record<string, unknown> } = {}): Promise<{ reply: WorkerReply; stream: ByocStream }> {
    const cap = this.capabilities.get(capability);
    if (!cap) throw new Error(`capability ${capability} is not registered`);
    const id = options.id ?? `stream-${randomBytes(4).toString('hex')}`;
    const names = { subscribe_url: id, publish_url: `${id}-out`, control_url: `${id}-control`, events_url: `${id}-events`, data_url: `${id}-data` };
    const mimes = { subscribe_url: 'video/MP2T', publish_url: 'video/MP2T', control_url: 'application/json', events_url: 'application/json', data_url: 'application/jsonl' };
    const urls = {} as ByocStream['urls'];
    for (const key of Object.keys(names) as Array<keyof typeof names>) {
      this.trickle.createChannel(names[key], mimes[key]);
      urls[key] = this.trickleUrl(names[key]);
    }
    const body = { gateway_request_id: id, ...urls, params: options.params ?? {} };
    const reply = await this.callWorker(cap, '/stream/start', id, JSON.stringify(body), true);
    cap.load += reply.status < 400 ? 1 : 0;
    return { reply, stream: { id, capability, urls } };
  }

  updateStream(stream: ByocStream, params: Record<string, unknown>, id = stream.id): Promise<WorkerReply> {
    return this.callWorker(this.mustCap(stream.capability), '/stream/params', id, JSON.stringify(params), true);
  }

  /** `/stream/stop` as the orchestrator sends it (no Content-Type; body verbatim, often empty). */
  stopStream(stream: ByocStream, options: { id?: string; body?: string } = {}): Promise<WorkerReply> {
    return this.callWorker(this.mustCap(stream.capability), '/stream/stop', options.id ?? stream.id, options.body ?? '', false);
  }

  private mustCap(name: string): Capability {
    const cap = this.capabilities.get(name);
    if (!cap) throw new Error(`capability ${name} is not registered`);
    return cap;
  }

  private async callWorker(cap: Capability, path: string, streamId: string, body: string, json: boolean): Promise<WorkerReply> {
    const headers: Record<string, string> = { 'X-Stream-Id': streamId };
    if (json) headers['Content-Type'] = 'application/json';
    if (cap.token) headers['Authorization'] = `Bearer ${cap.token}`;
    const reply = await plainRequest(cap.url + path, 'POST', headers, body);
    if (reply.status === 401) this.capabilities.delete(cap.name);
    return reply;
  }

  // ------------------------------------------------------------------ live runners, the client side

  /** `POST /apps/{runner}/session` as a client does. */
  async reserveSession(runnerId: string): Promise<{ status: number; body: { session_id: string; app_url: string; control_url: string } | string }> {
    const r = await this.selfRequest(`/apps/${runnerId}/session`, 'POST', {}, '');
    return { status: r.status, body: r.status === 200 ? (JSON.parse(r.body) as { session_id: string; app_url: string; control_url: string }) : r.body };
  }

  /** Any request through the session proxy (`{app_url}/{path}`). */
  callApp(appUrl: string, path: string, method: string, body?: unknown): Promise<WorkerReply> {
    const u = new URL(`${appUrl}${path}`);
    const payload = body === undefined ? '' : JSON.stringify(body);
    return this.selfRequest(u.pathname + u.search, method, body === undefined ? {} : { 'Content-Type': 'application/json' }, payload);
  }

  stopSession(runnerId: string, sessionId: string): Promise<WorkerReply> {
    return this.selfRequest(`/apps/${runnerId}/session/${sessionId}/stop`, 'POST', {}, '');
  }

  async discovery(): Promise<Array<{ address: string; runners?: Array<Record<string, unknown>> }>> {
    const r = await this.selfRequest('/discovery', 'GET', {}, '');
    return JSON.parse(r.body) as Array<{ address: string; runners?: Array<Record<string, unknown>> }>;
  }

  private selfRequest(path: string, method: string, headers: Record<string, string>, body: string): Promise<WorkerReply> {
    return plainRequest(`${this.url}${path}`, method, headers, body);
  }

  // ------------------------------------------------------------------ HTTP

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const method = req.method ?? 'GET';
    if (this.trickle.handleRequest(req, res)) return;
    const proxied = /^\/apps\/([^/]+)\/session\/([^/]+)\/app(\/.*)?$/.exec(path);
    if (proxied) {
      this.log.push({ method, path, headers: req.headers, body: '' });
      this.proxy(req, res, proxied[1] as string, proxied[2] as string, proxied[3] ?? '/');
      return;
    }
    const body = (await readAll(req)).toString('utf8');
    this.log.push({ method, path, headers: req.headers, body });
    const auth = req.headers['authorization'] ?? '';
    let m: RegExpExecArray | null;
    if (path === '/capability/register' || path === '/capability/unregister') {
      if (method !== 'POST') return httpError(res, 405, 'Method not allowed');
      if (auth !== this.secret) return httpError(res, 400, 'invalid authorization');
      if (path === '/capability/unregister') {
        this.capabilities.delete(body);
        return okText(res, 'ok');
      }
      let cap: Capability;
      try {
        cap = parseCapability(body);
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(`Error registering capability: ${(err as Error).message}`);
        return;
      }
      this.capabilities.set(cap.name, cap);
      return okText(res, 'ok', 'application/json');
    }
    if (path === '/runners/heartbeat' && method === 'POST') return this.heartbeat(res, body, auth);
    if ((m = /^\/runners\/([^/]+)\/unregister$/.exec(path)) && method === 'POST') {
      const runner = this.liveRunner(m[1] as string);
      if (!runner) return httpError(res, 404, 'runner not found');
      if (!safeEqual(auth, runner.heartbeatSecret)) return httpError(res, 401, 'invalid authorization');
      this.removeRunner(runner);
      res.writeHead(204);
      res.end();
      return;
    }
    if ((m = /^\/runner\/([^/]+)\/session\/([^/]+)\/(channels|stop)$/.exec(path))) {
      return this.sessionCallback(req, res, m[1] as string, m[2] as string, m[3] as string, body);
    }
    if (path === '/discovery' && method === 'GET') {
      const runners = [...this.runners.values()]
        .filter((r) => this.ready(r))
        .map((r) => {
          const rec = r.record;
          const capacity = Number(rec['capacity']);
          const out: Record<string, unknown> = {
            url: `${this.url}/apps/${r.id}/session`,
            app: rec['app'],
            mode: rec['mode'],
            capacity,
            capacity_used: r.sessions.size,
            capacity_available: Math.max(0, capacity - r.sessions.size),
          };
          for (const k of ['gpu', 'version', 'metadata']) if (rec[k] !== undefined && rec[k] !== '') out[k] = rec[k];
          return out;
        });
      return okText(res, JSON.stringify([{ address: this.url, ...(runners.length ? { runners } : {}) }]), 'application/json');
    }
    if ((m = /^\/apps\/([^/]+)\/session$/.exec(path)) && method === 'POST') {
      const runner = this.liveRunner(m[1] as string);
      if (!runner || !this.ready(runner)) return httpError(res, 404, 'runner not found');
      if (runner.sessions.size >= Number(runner.record['capacity'])) return httpError(res, 503, 'no capacity available for runner');
      const sid = `session_${base32(randomBytes(5))}`;
      runner.sessions.set(sid, { createdAt: Date.now(), channels: new Map() });
      this.o2rSend(runner, { event: 'reserved', session: sid, timestamp: new Date().toISOString() });
      const appUrl = `${this.url}/apps/${runner.id}/session/${sid}/app`;
      return okText(res, JSON.stringify({ session_id: sid, app_url: appUrl, control_url: `${this.url}/apps/${runner.id}/session/${sid}` }), 'application/json');
    }
    if ((m = /^\/apps\/([^/]+)\/session\/([^/]+)\/stop$/.exec(path)) && method === 'POST') {
      const runner = this.liveRunner(m[1] as string);
      if (!runner) return httpError(res, 404, 'runner not found');
      this.releaseSession(runner, m[2] as string);
      res.writeHead(204);
      res.end();
      return;
    }
    httpError(res, 404, '404 page not found');
  }

  private heartbeat(res: ServerResponse, body: string, auth: string): void {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(body) as Record<string, unknown>;
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('json: cannot unmarshal');
    } catch (err) {
      return httpError(res, 400, (err as Error).message);
    }
    const id = typeof req['runner_id'] === 'string' && req['runner_id'].trim() !== '' ? req['runner_id'].trim() : `runner_${base32(randomBytes(5))}`;
    const problem = validateHeartbeat(req);
    if (problem) return httpError(res, 400, problem);
    const record = { ...req, runner_id: id, mode: req['mode'] || 'persistent', capacity: Number(req['capacity'] ?? 0) || 1 };
    let runner = this.runners.get(id);
    const base = {
      runner_id: id,
      orchestrator: this.url,
      heartbeat_interval: DURATION(this.heartbeatIntervalMs),
      heartbeat_ttl: DURATION(this.heartbeatTtlMs),
    };
    if (!runner) {
      if (!safeEqual(auth, this.secret)) return httpError(res, 401, 'invalid registration authorization');
      const seed = randomBytes(32);
      const heartbeatSecret = derive(seed, 'heartbeat');
      runner = {
        id,
        seed,
        heartbeatSecret,
        record,
        lastHeartbeat: Date.now(),
        sessions: new Map(),
        o2rName: `${id}-${derive(seed, 'trickle:o2r').slice(0, 16)}-o2r`,
        o2r: undefined,
        o2rQueue: Promise.resolve(),
        o2rTimer: undefined,
      };
      this.runners.set(id, runner);
      this.trickle.createChannel(runner.o2rName, 'application/json');
      this.openO2R(runner);
      const o2r = { name: 'o2r', channel_name: runner.o2rName, url: this.trickleUrl(runner.o2rName), mime_type: 'application/json' };
      return okText(res, JSON.stringify({ ...base, heartbeat_secret: heartbeatSecret, o2r, session_ids: [] }), 'application/json');
    }
    if (Date.now() - runner.lastHeartbeat > this.heartbeatTtlMs) return httpError(res, 404, 'runner not found');
    if (!safeEqual(auth, runner.heartbeatSecret)) return httpError(res, 401, 'invalid heartbeat authorization');
    runner.record = record;
    runner.lastHeartbeat = Date.now();
    const sessionIds = [...runner.sessions.entries()].sort((a, b) => a[1].createdAt - b[1].createdAt).map(([sid]) => sid);
    okText(res, JSON.stringify({ ...base, session_ids: sessionIds }), 'application/json');
  }

  private sessionCallback(req: IncomingMessage, res: ServerResponse, runnerId: string, sid: string, what: string, body: string): void {
    const runner = this.liveRunner(runnerId);
    if (!runner || !this.ready(runner)) return httpError(res, 404, 'runner not found');
    const session = runner.sessions.get(sid);
    if (!session) return httpError(res, 404, 'runner session not found');
    const token = String(req.headers['livepeer-session-token'] ?? '');
    if (!safeEqual(token, derive(runner.seed, `session:${sid}`))) return httpError(res, 401, 'invalid authorization');
    if (what === 'stop') {
      if (req.method !== 'POST') return httpError(res, 405, 'Method Not Allowed');
      this.releaseSession(runner, sid);
      res.writeHead(204);
      res.end();
      return;
    }
    let parsed: { channels?: unknown };
    try {
      parsed = JSON.parse(body) as { channels?: unknown };
    } catch (err) {
      return httpError(res, 400, (err as Error).message);
    }
    const list = Array.isArray(parsed.channels) ? parsed.channels : [];
    if (list.length === 0) return httpError(res, 400, 'channels is required');
    if (list.length > 25) return httpError(res, 400, 'channels cannot contain more than 25 entries');
    if (req.method === 'DELETE') {
      for (const raw of list) {
        const name = String(raw).trim().replaceAll('/', '-');
        const channel = session.channels.get(name);
        if (!channel) return httpError(res, 404, 'trickle channel not found');
        this.trickle.deleteChannel(channel);
        session.channels.delete(name);
      }
      return okText(res, JSON.stringify({ deleted: list }), 'application/json');
    }
    const out: Array<Record<string, string>> = [];
    for (const entry of list as Array<{ name?: unknown; mime_type?: unknown }>) {
      const name = String(entry?.name ?? '').trim().replaceAll('/', '-');
      if (name === '') return httpError(res, 400, 'trickle channel name is required');
      if (!/^[A-Za-z0-9_-]+$/.test(name)) return httpError(res, 400, 'trickle channel name may only contain alphanumerics, underscores, or hyphens');
      const mime = typeof entry.mime_type === 'string' && entry.mime_type.trim() !== '' ? entry.mime_type : 'application/octet-stream';
      const channelName = `${sid}-${name}`;
      if (!session.channels.has(name)) {
        this.trickle.createChannel(channelName, mime);
        session.channels.set(name, channelName);
      }
      const url = this.trickleUrl(channelName);
      out.push({ name, channel_name: channelName, url, internal_url: url, mime_type: this.trickle.channelInfo(channelName)?.mime ?? mime });
    }
    okText(res, JSON.stringify({ channels: out }), 'application/json');
  }

  private proxy(req: IncomingMessage, res: ServerResponse, runnerId: string, sid: string, appPath: string): void {
    const runner = this.liveRunner(runnerId);
    if (!runner || !this.ready(runner)) return httpError(res, 404, 'runner not found');
    if (!runner.sessions.has(sid)) return httpError(res, 404, 'runner session not found');
    const target = new URL(String(runner.record['runner_url']));
    const query = (req.url ?? '').includes('?') ? `?${(req.url ?? '').split('?').slice(1).join('?')}` : '';
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith('x-forwarded-') && k !== 'host' && k !== 'connection') headers[k] = v;
    headers['Livepeer-Runner-Route'] = runner.id;
    headers['Livepeer-Session-Id'] = sid;
    headers['Livepeer-Session-Token'] = derive(runner.seed, `session:${sid}`);
    headers['Livepeer-Session-Control'] = `${this.url}/runner/${runner.id}/session/${sid}`;
    const path = `${target.pathname.replace(/\/+$/, '')}${appPath}${query}`;
    const fn = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = fn({ protocol: target.protocol, hostname: target.hostname, port: target.port, path, method: req.method, headers, rejectUnauthorized: false });
    upstream.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) httpError(res, 502, err.message);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private ready(runner: Runner): boolean {
    const status = runner.record['status'];
    return (status === undefined || status === '' || status === 'ready') && Date.now() - runner.lastHeartbeat <= this.heartbeatTtlMs;
  }

  private liveRunner(id: string): Runner | undefined {
    const r = this.runners.get(id);
    return r && Date.now() - r.lastHeartbeat <= this.heartbeatTtlMs ? r : undefined;
  }

  private sweep(): void {
    for (const runner of [...this.runners.values()]) if (Date.now() - runner.lastHeartbeat > this.heartbeatTtlMs) this.removeRunner(runner);
  }

  private removeRunner(runner: Runner): void {
    for (const sid of [...runner.sessions.keys()]) this.releaseSession(runner, sid);
    this.runners.delete(runner.id);
    this.closeO2R(runner);
    this.trickle.deleteChannel(runner.o2rName);
  }

  private releaseSession(runner: Runner, sid: string): void {
    const session = runner.sessions.get(sid);
    if (!session) return;
    this.o2rSend(runner, { event: 'released', session: sid, timestamp: new Date().toISOString() });
    for (const channel of session.channels.values()) this.trickle.deleteChannel(channel);
    runner.sessions.delete(sid);
  }

  private openO2R(runner: Runner): void {
    if (!this.server || !this.trickle.hasChannel(runner.o2rName)) return;
    runner.o2r = new TricklePublisher(this.trickleUrl(runner.o2rName), { start: 'next', tls: false, mime: 'application/json' });
    runner.o2rTimer = setInterval(() => this.o2rSend(runner, { keep: 'alive' }), this.o2rIntervalMs);
  }

  private closeO2R(runner: Runner): void {
    clearInterval(runner.o2rTimer);
    runner.o2r?.destroy();
    runner.o2r = undefined;
  }

  /** Writes one JSON message as one segment of the runner's O2R channel, in order. */
  o2rSend(runner: Runner, message: Record<string, unknown>): void {
    const pub = runner.o2r;
    if (!pub) return;
    runner.o2rQueue = runner.o2rQueue.then(() => pub.writeSegment(JSON.stringify(message))).catch(() => undefined);
  }
}

function validateHeartbeat(req: Record<string, unknown>): string | undefined {
  let u: URL;
  try {
    u = new URL(String(req['runner_url']));
  } catch {
    return 'invalid runner_url';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'invalid runner_url';
  const app = req['app'];
  if (typeof app !== 'string' || app === '' || app !== app.trim()) return 'app must be trimmed';
  const metadata = req['metadata'];
  if (metadata !== undefined && (typeof metadata !== 'string' || Buffer.byteLength(metadata) > 1024)) return 'metadata must be at most 1024 bytes';
  const status = req['status'];
  if (status !== undefined && (typeof status !== 'string' || status !== status.trim().toLowerCase())) return 'status must be lowercase and trimmed';
  const mode = req['mode'];
  if (mode !== undefined && mode !== '' && mode !== 'persistent' && mode !== 'single-shot') return 'mode must be "persistent" or "single-shot"';
  const capacity = req['capacity'];
  if (capacity !== undefined && (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 0)) return 'capacity must be >= 0';
  return undefined;
}

/** go-livepeer unmarshals into `ExternalCapability`: integer prices, string token. */
function parseCapability(body: string): Capability {
  const v = JSON.parse(body) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('json: cannot unmarshal into Go value of type core.ExternalCapability');
  const int = (k: string): number => {
    const x = v[k] ?? 0;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new Error(`json: cannot unmarshal ${typeof x} into Go struct field ExternalCapability.${k} of type int64`);
    return x;
  };
  const str = (k: string): string => {
    const x = v[k] ?? '';
    if (typeof x !== 'string') throw new Error(`json: cannot unmarshal ${typeof x} into Go struct field ExternalCapability.${k} of type string`);
    return x;
  };
  return {
    name: str('name'),
    description: str('description'),
    url: str('url'),
    capacity: int('capacity'),
    price_per_unit: int('price_per_unit'),
    price_scaling: int('price_scaling') || 1,
    currency: str('currency'),
    token: str('token'),
    load: 0,
  };
}

function derive(seed: Buffer, label: string): string {
  return base32(createHmac('sha256', seed).update(label).digest());
}

function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function httpError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(`${message}\n`);
}

function okText(res: ServerResponse, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(200, { 'Content-Type': contentType });
  res.end(text);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

/** A request from the orchestrator (or a test client), certificate unchecked as go-livepeer's clients do. */
export function plainRequest(url: string, method: string, headers: Record<string, string>, body: string): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const fn = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = fn(url, { method, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, rejectUnauthorized: false, agent: false });
    req.on('response', (res) => {
      readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString('utf8') }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts a LocalOrchestrator and registers its close with a test file's `cleanups`. */
export async function startOrchestrator(cleanups: Array<() => Promise<void> | void>, options: LocalOrchestratorOptions = {}): Promise<LocalOrchestrator> {
  const orch = new LocalOrchestrator(options);
  await orch.start();
  cleanups.push(() => orch.close());
  return orch;
}
