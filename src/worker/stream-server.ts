/**
 * StreamServer: the pytrickle-compatible HTTP worker (docs/compat.md), with many concurrent streams up
 * to `capacity`, optional bearer auth, request size limits, Prometheus `/metrics`, structured logs,
 * graceful shutdown and capability registration. Lifecycle: created → listening (processor
 * initializing: LOADING) → IDLE/OK → shutting down → closed.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { packageVersion } from '../native/capabilities';
import { invalidArg } from '../errors';
import type { FrameProcessor } from '../processor/frame-processor';
import { isFrameProcessor } from '../processor/create-processor';
import { applyParamsSchema } from '../processor/params-schema';
import { pytrickleNameWarnings } from '../processor/pytrickle-names';
import { createMediaPipeline } from '../stream/media-pipeline';
import { nativeMediaBackend, type NativeMediaOptions } from '../stream/native-media';
import { createStreamSession, type MediaPipelineFactory } from '../stream/stream-session';
import type { DataChannelFormat } from '../stream/channels/data-channel';
import { trickleTransport } from '../stream/trickle-transport';
import { resolveTimings, type StreamTimings } from '../stream/timings';
import type { TransportFactory } from '../stream/transport';
import { createLogger, type Logger } from '../logger';
import { renderMetrics, type MetricsTotals } from './metrics';
import { validateParams, type StreamParams } from '../params';
import { CapabilityRegistration, validateRegistration, type RegistrationResult } from './registration';
import { LiveRunner, validateLiveRunner } from './live-runner';
import { createSessionChannels, releaseSession, sessionHeaders, type SessionHeaders } from './live-session';
import { planRegistration, type ByocSettings, type LiveRunnerSettings, type RegistrationPlan } from './livepeer-config';
import { describeTls, resolveTls, type TlsOptions } from '../trickle/tls';
import { bearerAuthorized } from './auth';
import { normaliseOrigin, refusedChannelUrl } from './channel-egress';
import { installProcessGuard, type ProcessGuard } from './process-guard';
import { gpuInfo, gpuUtilization } from './hardware';
import { serveNodeRequest } from './node-http';
import { errorBody, isJsonContentType, json, parseJsonBody, splitUrl, type RouteRequest, type RouteResponse } from './routes';
import { parseStartRequest, SUBSCRIBE_URL_REQUIRED } from './start-request';
import { StreamRegistry } from './stream-registry';
import type { StartRequest, StreamFactory, StreamHandle } from '../stream/stream-handle';
import { WorkerState } from './worker-state';

/** A route's handler: the request and its parsed query string. */
type RouteHandler = (request: RouteRequest, query: URLSearchParams) => Promise<RouteResponse> | RouteResponse;

export interface StreamServerOptions {
  /** The processor serving every stream. */
  processor: FrameProcessor;
  /** TCP port (default 8000; 0 picks a free one). */
  port?: number;
  /**
   * Bind address. Default `0.0.0.0` when the worker has a token (given, or generated because it
   * registers as a BYOC capability), joins an orchestrator (BYOC or live runner) or runs `open`;
   * otherwise `127.0.0.1`: a worker nobody authenticates to is reachable from this machine only
   * (said in the log at start).
   */
  host?: string;
  /** Concurrent streams (default 1 = pytrickle: a second start gets 503 "Pipeline is still in use"). */
  capacity?: number;
  /**
   * Prefix of every route (default `""`, pytrickle's `route_prefix="/"`): `/stream/*`, `/health`,
   * `/version`, `/metrics`, `/hardware/*`, … answer under it. The system routes (`/health`,
   * `/version`, `/app-version`, `/hardware/*`, `/metrics`) and `/live-video-to-video` also answer
   * without it, as pytrickle's do.
   */
  routePrefix?: string;
  /**
   * Every route but `GET /health` requires `Authorization: Bearer <token>`. Default: env
   * `TRICKLE_AUTH_TOKEN`; when neither is set and the worker registers as a BYOC capability (and is
   * not `open`), a random token is generated and given to the orchestrator (BYOC `token`).
   */
  authToken?: string;
  /**
   * pytrickle-compatible open mode: no token is generated (a given `authToken` is still required),
   * channel URLs may point anywhere, and the default bind address is `0.0.0.0`. Default false.
   */
  open?: boolean;
  /**
   * Origins (`scheme://host:port`) channel URLs may always point at. Besides these, a channel URL is
   * allowed when it is on the orchestrator the worker registered with, or its host resolves to the
   * address the start request came from. Ignored when `open`.
   */
  allowedChannelOrigins?: string[];
  /** Largest accepted request body in bytes (default 1 MiB); larger → 413. */
  maxBodyBytes?: number;
  /** `/version` `pipeline` (default env `PIPELINE` or `"byoc"`). */
  pipeline?: string;
  /** `/version` `model_id` (default env `CAPABILITY_NAME`, then `MODEL_ID`, then `""`). */
  capabilityName?: string;
  /** `/app-version` (default `"0.0.1"`, as pytrickle). */
  appVersion?: string;
  logger?: Logger;
  /** Stream intervals and timeouts (heartbeat, stall, keepalive, retries); COMPAT defaults. */
  timings?: Partial<StreamTimings>;
  /** How streams reach trickle channels (default: trickle-rt's TricklePublisher/TrickleSubscriber). */
  transport?: TransportFactory;
  /**
   * The media path of a stream: options of the native backend (decoder device, encoder, bitrate,
   * GOP), or a whole MediaPipelineFactory (default: the native decoder/encoder, device 'auto').
   */
  media?: NativeMediaOptions | MediaPipelineFactory;
  /** Latest-wins queue between decoder and processor, in frames (default 2). */
  queueSize?: number;
  /**
   * Age bound of that queue in milliseconds (default: two frame intervals of the stream's
   * `max_framerate`, at least 50 ms): older frames are dropped when a newer one is queued.
   */
  maxQueueAgeMs?: number;
  /**
   * Age bound of each stream's input backlog, bytes waiting for the decoder (ms): older video is
   * skipped up to a keyframe (`framesSkipped`, `frames_dropped` with reason `input_backlog`); 0: no
   * bound. Default: eight frame intervals of `max_framerate`, at least 300 ms.
   */
  maxInputBacklogMs?: number;
  /** Replaces the stream implementation (tests of the HTTP layer). */
  streamFactory?: StreamFactory;
  /**
   * How the worker goes on the Livepeer network after listening (docs/livepeer.md): `'env'`
   * (default) follows `LIVEPEER_REGISTRATION`, else `liveRunner` / `byoc` when given, else BYOC when
   * an orchestrator URL and secret are in the environment; `'byoc'` / `'live-runner'` force a mode;
   * `false` never registers.
   */
  register?: 'env' | 'byoc' | 'live-runner' | false;
  /** BYOC registration settings (each overrides its environment variable). */
  byoc?: ByocSettings;
  /** Live-runner settings (each overrides its environment variable). */
  liveRunner?: LiveRunnerSettings;
  /**
   * Certificate check of every https connection to an orchestrator (registration, runner
   * heartbeats and callbacks, trickle channels): default env `TRICKLE_TLS_CA` if set, else none,
   * as go-livepeer's self-signed certificate requires; `{ caFile }` verifies against a CA or the
   * orchestrator's own (pinned) certificate; `false` never verifies.
   */
  tls?: TlsOptions | false;
  /** How long shutdown waits for streams to drain before abandoning them (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * The data channel's format: `'lines'` (default, JSON lines batched per segment, what go-livepeer
   * reads) or `'documents'` (one JSON document per segment, for readers that parse a whole segment).
   */
  dataFormat?: DataChannelFormat;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * The HTTP worker a go-livepeer orchestrator drives (BYOC capability).
 *
 * @example
 * const server = new StreamServer({ processor: createProcessor({ video: (f) => f }), port: 8000 });
 * await server.listen();
 * server.installSignalHandlers(); // SIGTERM/SIGINT: stop accepting, drain, DELETE output channels
 */
export class StreamServer {
  readonly state = new WorkerState();
  readonly processor: FrameProcessor;
  readonly capacity: number;
  readonly log: Logger;
  readonly timings: StreamTimings;
  private readonly options: StreamServerOptions;
  private readonly prefix: string;
  private readonly maxBodyBytes: number;
  private readonly authToken: string | undefined;
  /** The token was generated here (for the orchestrator), not configured. */
  private readonly tokenGenerated: boolean;
  /** Origins channel URLs may point at besides the start request's own peer; undefined = any (open). */
  private readonly allowedOrigins: ReadonlySet<string> | undefined;
  private guard: ProcessGuard | undefined;
  private readonly registry: StreamRegistry;
  /** `"METHOD path"` → handler, built once. */
  private readonly routes: Map<string, RouteHandler>;
  private readonly factory: StreamFactory;
  private http: Server | undefined;
  private initPromise: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private registration: Promise<RegistrationResult> | undefined;
  private readonly plan: RegistrationPlan;
  private capability: CapabilityRegistration | undefined;
  private runner: LiveRunner | undefined;
  /** Live-runner sessions served now, by session id. */
  private readonly liveSessions = new Map<string, SessionHeaders>();
  /** Sessions the orchestrator released (their end needs no release callback). */
  private readonly releasedSessions = new Set<string>();
  /** Session starts waiting for their channels (they hold capacity). */
  private pendingStarts = 0;
  private readonly rejected: Record<string, number> = {};
  /** `"<METHOD> <route> <status>"` → count. */
  private readonly requests: Record<string, number> = {};
  private signalHandler: (() => void) | undefined;

  constructor(options: StreamServerOptions) {
    if (!isFrameProcessor(options?.processor)) throw invalidArg('options.processor', 'a FrameProcessor', options?.processor);
    this.plan = planRegistration({ register: options.register ?? 'env', byoc: options.byoc, liveRunner: options.liveRunner, capabilityName: options.capabilityName });
    // One capacity, advertised and served: the option, else the registration's environment, else 1.
    const envCapacity = this.plan.mode === 'none' ? undefined : this.plan.envCapacity;
    const capacity = options.capacity ?? envCapacity ?? 1;
    if (!Number.isInteger(capacity) || capacity < 1) throw invalidArg('options.capacity', 'a positive integer', capacity);
    resolveTls(options.tls); // a bad certificate file is an error now, not at the first connection
    this.checkPlan(capacity);
    const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    if (!Number.isInteger(maxBody) || maxBody < 1) throw invalidArg('options.maxBodyBytes', 'a positive integer', maxBody);
    this.options = options;
    this.processor = options.processor;
    this.capacity = capacity;
    this.maxBodyBytes = maxBody;
    this.prefix = (options.routePrefix ?? '').replace(/\/+$/, '');
    const configured = options.authToken || process.env['TRICKLE_AUTH_TOKEN'] || undefined;
    // A BYOC registration hands the orchestrator the token it must send: one is generated when none is configured.
    this.tokenGenerated = configured === undefined && this.plan.mode === 'byoc' && !options.open;
    this.authToken = this.tokenGenerated ? randomBytes(32).toString('base64url') : configured;
    if (options.open) this.allowedOrigins = undefined;
    else {
      const origins = (options.allowedChannelOrigins ?? []).map(normaliseOrigin);
      if (this.plan.mode === 'byoc') origins.push(new URL(this.plan.byoc.orchUrl).origin);
      if (this.plan.mode === 'live-runner') origins.push(new URL(this.plan.runner.orchUrl).origin);
      this.allowedOrigins = new Set(origins);
    }
    this.log = options.logger ?? createLogger({ fields: { component: 'stream-server' } });
    this.timings = resolveTimings(options.timings);
    const transport = options.transport ?? trickleTransport(options.tls !== undefined ? { tls: options.tls } : {});
    if (options.capacity !== undefined && envCapacity !== undefined && envCapacity !== options.capacity) {
      this.log.warn('capacity option and LIVEPEER_CAPACITY/CAPABILITY_CAPACITY differ; the option is advertised and served', { capacity, env_capacity: envCapacity });
    }
    const media =
      typeof options.media === 'function'
        ? options.media
        : createMediaPipeline(nativeMediaBackend(options.media ?? {}), {
            ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
            ...(options.maxQueueAgeMs !== undefined ? { maxQueueAgeMs: options.maxQueueAgeMs } : {}),
            ...(options.maxInputBacklogMs !== undefined ? { maxInputBacklogMs: options.maxInputBacklogMs } : {}),
          });
    this.factory =
      options.streamFactory ??
      ((request) =>
        createStreamSession({ request, processor: this.processor, timings: this.timings, logger: this.log, transport, media, dataFormat: options.dataFormat ?? 'lines' }));
    this.registry = new StreamRegistry((stream, end) => {
      this.state.setActiveStreams(this.registry.size);
      // The stream logs its own one-line summary ("stream ended") when it ends.
      if (end) this.log.debug('stream removed', { stream_id: stream.id, reason: end.reason });
    });
    this.routes = this.buildRoutes();
    for (const warning of pytrickleNameWarnings(this.processor, 'processor')) this.log.warn(warning, { processor: this.processor.name });
  }

  /**
   * Answers a request of an existing node:http server (or express, fastify, …): mount it under the
   * route prefix and the worker needs no port of its own. A request it has no route for goes to
   * `next` when given (express middleware), else gets 404. The body is read from `req`, or taken
   * from `req.body` when a framework already parsed it. The processor's initialization starts with
   * the first request; call {@link initialize} to start (and await) it earlier. Bound to the
   * instance: pass `server.handleRequest` as is.
   *
   * @example
   * const worker = new StreamServer({ processor, routePrefix: '/worker' });
   * await worker.initialize();
   * http.createServer((req, res) => (req.url?.startsWith('/worker/') ? worker.handleRequest(req, res) : app(req, res)));
   * // express: app.use(worker.handleRequest)
   */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): Promise<void> => {
    void this.initialize();
    const originalUrl = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
    // Express strips its mount path from req.url and keeps the full one in originalUrl.
    const url = [originalUrl, req.url].find((u): u is string => u !== undefined && this.hasRoute(u));
    if (url === undefined) {
      if (next) {
        next();
        return Promise.resolve();
      }
    }
    const parsed = (req as IncomingMessage & { body?: unknown }).body;
    return serveNodeRequest(
      req,
      res,
      this.maxBodyBytes,
      (request) => this.handle(request),
      (request, response) => this.countRequest(request, response),
      { ...(url !== undefined ? { url } : {}), ...(parsed !== undefined ? { body: parsed } : {}) },
    ).catch((err: unknown) => this.failRequest(res, err));
  };

  private hasRoute(url: string): boolean {
    const { path } = splitUrl(url);
    return this.routes.has(`POST ${path}`) || this.routes.has(`GET ${path}`);
  }

  private failRequest(res: ServerResponse, err: unknown): void {
    this.log.error('request failed', { err });
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorBody('Internal server error')));
    } else res.destroy();
  }

  /** The bound port once listening. */
  get port(): number {
    const addr = this.http?.address();
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : 0;
  }

  /** `http://127.0.0.1:<port>` once listening. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Active streams. */
  streams(): StreamHandle[] {
    return this.registry.all();
  }

  /** The stream with this id (gateway_request_id or X-Stream-Id), if active. */
  stream(id: string): StreamHandle | undefined {
    return this.registry.get(id);
  }

  /**
   * Runs the processor's `initialize()` once (LOADING → IDLE; a rejection → ERROR with the reason).
   * `listen()` starts it in the background; call it yourself to wait for it.
   */
  initialize(): Promise<void> {
    this.initPromise ??= (async () => {
      try {
        await this.processor.initialize();
        this.state.setStartupComplete();
        this.log.info('processor initialized', { processor: this.processor.name });
        this.runner?.heartbeatNow();
      } catch (err) {
        this.state.setFatalError(`Model loading failed: ${(err as Error)?.message ?? String(err)}`);
        this.log.error('processor initialization failed', { err });
      }
    })();
    return this.initPromise;
  }

  /** Starts the HTTP server, the processor's initialization and (by default) capability registration. */
  async listen(): Promise<{ port: number; url: string }> {
    if (this.http) throw invalidArg('listen()', 'a server that is not listening yet', 'already listening');
    const server = createServer((req, res) => {
      serveNodeRequest(req, res, this.maxBodyBytes, (request) => this.handle(request), (request, response) => this.countRequest(request, response)).catch(
        (err: unknown) => this.failRequest(res, err),
      );
    });
    server.headersTimeout = 30_000;
    server.requestTimeout = 60_000;
    this.http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 8000, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    void this.initialize();
    this.goOnNetwork();
    this.log.info('listening', {
      host: this.host,
      port: this.port,
      capacity: this.capacity,
      prefix: this.prefix || '/',
      livepeer: this.plan.mode,
      tls: describeTls(resolveTls(this.options.tls)),
      auth: this.authToken === undefined ? 'none' : this.tokenGenerated ? 'generated token (given to the orchestrator)' : 'configured token',
      channel_urls: this.allowedOrigins === undefined ? 'any (open mode)' : 'the requesting orchestrator or an allowed origin',
    });
    if (this.authToken === undefined && this.options.host === undefined && this.host === '127.0.0.1') {
      this.log.info('no token and no orchestrator registration: listening on loopback only (set a host, a token, or open mode to listen elsewhere)', { host: this.host });
    } else if (this.authToken === undefined) {
      this.log.warn('no token: anyone who reaches this address can start and stop streams', { host: this.host });
    }
    return { port: this.port, url: this.url };
  }

  /** The address `listen()` binds (see {@link StreamServerOptions.host}). */
  get host(): string {
    if (this.options.host !== undefined) return this.options.host;
    return this.authToken !== undefined || this.options.open || this.plan.mode !== 'none' ? '0.0.0.0' : '127.0.0.1';
  }

  /**
   * The bearer token every route but `/health` requires, if any (configured, or generated for the
   * orchestrator this worker registers with). Never logged.
   */
  get token(): string | undefined {
    return this.authToken;
  }

  /**
   * Installs the process guard (see worker/process-guard.ts): an error escaping every handler is
   * logged with its stream, ends that stream, and counts in `trickle_rt_escaped_errors_total`. The
   * CLI's `serve` installs it; `shutdown()` removes it.
   */
  installProcessGuard(): void {
    this.guard ??= installProcessGuard(this.log);
  }

  /** The token the orchestrator must present (sent as the registration's `token`); the worker's bearer token. */
  protected registrationToken(): string | undefined {
    return this.authToken;
  }

  /** The live runner (live-runner mode, once listening). */
  get liveRunner(): LiveRunner | undefined {
    return this.runner;
  }

  /** Registers as a BYOC capability or starts the live runner, per the plan. */
  private goOnNetwork(): void {
    const plan = this.plan;
    const local = `http://localhost:${this.port}`;
    const tls = this.options.tls;
    if (plan.mode === 'byoc') {
      const b = plan.byoc;
      this.capability = new CapabilityRegistration({
        orchUrl: b.orchUrl,
        orchSecret: b.orchSecret,
        url: b.url ?? local,
        name: plan.name,
        description: b.description ?? 'trickle-rt video processing worker',
        capacity: this.capacity,
        pricePerUnit: b.pricePerUnit ?? 0,
        priceScaling: b.priceScaling ?? 1,
        ...(b.currency ? { currency: b.currency } : {}),
        ...(b.watchIntervalMs !== undefined ? { watchIntervalMs: b.watchIntervalMs } : {}),
        token: () => this.registrationToken(),
        ...(tls !== undefined ? { tls } : {}),
        logger: this.log,
      });
      this.registration = this.capability.start();
    } else if (plan.mode === 'live-runner') {
      const r = plan.runner;
      this.runner = new LiveRunner({
        orchUrl: r.orchUrl,
        orchSecret: r.orchSecret,
        runnerUrl: r.runnerUrl ?? local,
        app: r.app,
        capacity: this.capacity,
        ...(r.version ? { version: r.version } : {}),
        ...(r.metadata ? { metadata: r.metadata } : {}),
        ...(r.gpu !== undefined ? { gpu: r.gpu } : {}),
        ...(r.priceInfo ? { priceInfo: r.priceInfo } : {}),
        status: () => (this.state.fatalError ? 'error' : this.state.pipelineReady ? 'ready' : 'loading'),
        sessions: () => [...this.liveSessions.keys()],
        onReleased: (sid) => this.sessionReleased(sid),
        ...(tls !== undefined ? { tls } : {}),
        logger: this.log,
      });
      this.runner.start();
    }
  }

  /** Settings the orchestrator could not use are an error at construction, not after listening. */
  private checkPlan(capacity: number): void {
    const plan = this.plan;
    const local = 'http://localhost:1';
    if (plan.mode === 'byoc') {
      const b = plan.byoc;
      validateRegistration({ ...b, url: b.url ?? local, name: plan.name, capacity, ...(b.pricePerUnit !== undefined ? { pricePerUnit: b.pricePerUnit } : {}) });
    } else if (plan.mode === 'live-runner') {
      validateLiveRunner({ ...plan.runner, runnerUrl: plan.runner.runnerUrl ?? local, capacity });
    }
  }

  /** The orchestrator released (or forgot) a session: its stream stops, its capacity is free. */
  private sessionReleased(sid: string): void {
    this.releasedSessions.add(sid);
    const stream = this.registry.get(sid);
    if (stream) void stream.stop('stopped');
  }

  /** The capability registration attempt started by `listen()`, if any. */
  registrationResult(): Promise<RegistrationResult> | undefined {
    return this.registration;
  }

  /**
   * Graceful shutdown: stop accepting new streams, stop every stream (each drains its output and
   * DELETEs its output channels so downstream sees EOS), then close the HTTP server.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.state.setShuttingDown();
      // BYOC: unregister first, so the orchestrator sends no new stream while the others drain.
      await this.capability?.stop(true);
      this.log.info('shutting down', { streams: this.registry.size });
      const drainMs = this.options.drainTimeoutMs ?? 10_000;
      const stops = Promise.allSettled(this.streams().map((s) => s.stop('shutdown')));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainMs);
      });
      const outcome = await Promise.race([stops.then(() => 'drained' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') this.log.warn('drain timed out; abandoning streams', { drainMs });
      // Live runner: drained, now leave the orchestrator.
      await this.runner?.stop();
      this.guard?.uninstall();
      if (this.signalHandler) {
        process.off('SIGTERM', this.signalHandler);
        process.off('SIGINT', this.signalHandler);
      }
      const http = this.http;
      if (http) {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          // Streams are drained: keep-alive connections (idle or not) must not hold the process.
          http.closeAllConnections();
        });
      }
      this.log.info('shut down');
    })();
    return this.shutdownPromise;
  }

  /** Same as {@link shutdown}. */
  close(): Promise<void> {
    return this.shutdown();
  }

  /** On SIGTERM/SIGINT: {@link shutdown}, then `onDone` (default: exit 0). */
  installSignalHandlers(onDone: () => void = () => process.exit(0)): void {
    if (this.signalHandler) return;
    this.signalHandler = () => {
      this.shutdown().then(onDone, onDone);
    };
    process.once('SIGTERM', this.signalHandler);
    process.once('SIGINT', this.signalHandler);
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private countRequest(request: Pick<RouteRequest, 'method' | 'url'>, response: RouteResponse): void {
    const { path } = splitUrl(request.url);
    const method = request.method.toUpperCase();
    const known = this.routes.has(`POST ${path}`) || this.routes.has(`GET ${path}`);
    const key = `${method} ${known ? path : 'other'} ${response.status}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
  }

  /**
   * Answers one request without sockets (the app factory used by unit tests; `listen()` serves
   * the same function over node:http).
   */
  async handle(request: RouteRequest): Promise<RouteResponse> {
    const { path, query } = splitUrl(request.url);
    const method = request.method.toUpperCase();
    const handler = this.routes.get(`${method === 'HEAD' ? 'GET' : method} ${path}`);
    if (!handler) {
      const exists = this.routes.has(`POST ${path}`) || this.routes.has(`GET ${path}`);
      return exists ? json(405, errorBody('Method not allowed')) : json(404, errorBody('Not found'));
    }
    const health = path === '/health' || path === `${this.prefix}/health`;
    if (!((method === 'GET' || method === 'HEAD') && health) && !bearerAuthorized(request.headers, this.authToken)) {
      return json(401, errorBody('Unauthorized'));
    }
    return handler(request, query);
  }

  /** The route table (pytrickle's routes; `/stream/*` under the route prefix, the others at both). */
  private buildRoutes(): Map<string, RouteHandler> {
    const p = this.prefix;
    const info = (): Record<string, unknown> => ({ pipeline: this.pipelineName(), model_id: this.modelId() });
    const routes: [string, RouteHandler][] = [
      [`POST ${p}/stream/start`, (r) => this.start(r)],
      ['POST /live-video-to-video', (r) => this.start(r)],
      [`POST ${p}/stream/stop`, (r, q) => this.stop(r, q)],
      [`POST ${p}/stream/params`, (r, q) => this.updateParams(r, q)],
      [`GET ${p}/stream/status`, () => json(200, this.status())],
      ['GET /health', () => json(200, { status: this.state.status })],
      ['GET /version', () => json(200, { ...info(), version: packageVersion() })],
      ['GET /app-version', () => json(200, { version: this.options.appVersion ?? '0.0.1' })],
      ['GET /hardware/info', () => json(200, { ...info(), gpu_info: gpuInfo() })],
      ['GET /hardware/stats', () => json(200, { ...info(), ...gpuUtilization() })],
      ['GET /metrics', () => ({ status: 200, text: this.metricsText(), contentType: 'text/plain; version=0.0.4; charset=utf-8' })],
    ];
    // Under a prefix, every route answers there too (an embedding app mounts the worker at it).
    if (p !== '') {
      for (const [key, handler] of [...routes]) {
        const [method, path] = key.split(' ') as [string, string];
        if (!path.startsWith(`${p}/`)) routes.push([`${method} ${p}${path}`, handler]);
      }
    }
    return new Map(routes);
  }

  private metricsText(): string {
    const totals: MetricsTotals = {
      started: this.registry.started,
      ended: this.registry.ended,
      rejected: this.rejected,
      escapedErrors: this.guard?.escaped ?? 0,
      requests: this.requests,
      endedCounters: this.registry.endedCounters,
    };
    return renderMetrics(this, totals);
  }

  private pipelineName(): string {
    return this.options.pipeline ?? process.env['PIPELINE'] ?? 'byoc';
  }

  private modelId(): string {
    return this.options.capabilityName ?? process.env['CAPABILITY_NAME'] ?? process.env['MODEL_ID'] ?? '';
  }

  private startError(status: number, message: string): RouteResponse {
    return json(status, errorBody(message, { current_state: this.state.currentState() }));
  }

  private async start(request: RouteRequest): Promise<RouteResponse> {
    // Session headers count only in live-runner mode: elsewhere nobody vouches for them.
    const session = this.plan.mode === 'live-runner' ? sessionHeaders(request.headers) : undefined;
    if (session) return this.startSession(request, session);
    if (this.state.shuttingDown) return this.startError(503, 'Server is shutting down');
    if (!this.state.pipelineReady) {
      this.countRejected('loading');
      return this.startError(503, 'Pipeline is still initializing. Please wait for IDLE status.');
    }
    const ct = request.headers['content-type'];
    if (!isJsonContentType(ct)) {
      return this.startError(400, `Error starting stream: Unknown content type: ${ct ?? ''}`);
    }
    let start: StartRequest;
    try {
      start = parseStartRequest(parseJsonBody(request.body));
    } catch (err) {
      this.countRejected('invalid');
      return this.startError(400, `Error starting stream: ${(err as Error).message}`);
    }
    const schema = this.processor.paramsSchema;
    if (schema) {
      try {
        start.params = await applyParamsSchema(schema, start.params);
      } catch (err) {
        this.countRejected('invalid');
        return this.startError(400, `Error starting stream: invalid params: ${(err as Error).message}`);
      }
      if (this.state.shuttingDown) return this.startError(503, 'Server is shutting down');
    }
    if (this.allowedOrigins !== undefined) {
      const refused = await refusedChannelUrl(start, request.remoteAddress, this.allowedOrigins);
      if (refused !== undefined) {
        this.countRejected('channel_url');
        this.log.warn('start refused: channel URL not allowed', { reason: refused, peer: request.remoteAddress });
        return this.startError(403, `Error starting stream: ${refused}`);
      }
      // The wait above may have let a shutdown in: the checks below run after it, in one section.
      if (this.state.shuttingDown) return this.startError(503, 'Server is shutting down');
    }
    // A stream without an input channel can never produce anything: refused rather than holding a slot.
    if (start.subscribe_url === undefined) {
      this.countRejected('invalid');
      return this.startError(400, `Error starting stream: ${SUBSCRIBE_URL_REQUIRED}`);
    }
    const header = request.headers['x-stream-id'];
    if (header) start.streamIdHeader = header;
    // Capacity check and registration happen in one synchronous section: two simultaneous starts
    // can never both pass (pytrickle checks a flag that flips later, inside a background task).
    if (this.registry.size + this.pendingStarts >= this.capacity) {
      this.countRejected('capacity');
      return this.startError(503, 'Pipeline is still in use');
    }
    if (this.registry.has(start.gateway_request_id)) {
      this.countRejected('duplicate');
      return this.startError(409, `Error starting stream: stream '${start.gateway_request_id}' is already active`);
    }
    let stream: StreamHandle;
    try {
      stream = this.factory(start);
    } catch (err) {
      return this.startError(400, `Error starting stream: ${(err as Error).message}`);
    }
    this.registry.add(stream);
    stream.start();
    this.log.info('stream started', { stream_id: stream.id, subscribe_url: start.subscribe_url, publish_url: start.publish_url });
    return json(200, {
      status: 'success',
      message: 'Stream started successfully',
      request_id: start.gateway_request_id,
      current_state: this.state.currentState(),
    });
  }

  /**
   * `POST /stream/start` through a live-runner session (docs/livepeer.md): creates the session's
   * channels with the orchestrator, starts the stream on them (its id is the session id) and
   * answers with the channels' public URLs.
   */
  private async startSession(request: RouteRequest, session: SessionHeaders): Promise<RouteResponse> {
    if (this.state.shuttingDown) return this.startError(503, 'Server is shutting down');
    if (!this.state.pipelineReady) {
      this.countRejected('loading');
      return this.startError(503, 'Pipeline is still initializing. Please wait for IDLE status.');
    }
    let clientBody: Record<string, unknown> = {};
    if (request.body.toString('utf8').trim() !== '') {
      const ct = request.headers['content-type'];
      if (!isJsonContentType(ct)) return this.startError(400, `Error starting stream: Unknown content type: ${ct ?? ''}`);
      let parsed: unknown;
      try {
        parsed = parseJsonBody(request.body);
      } catch (err) {
        return this.startError(400, `Error starting stream: ${(err as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.startError(400, 'Error starting stream: Request body must be a JSON object');
      clientBody = parsed as Record<string, unknown>;
    }
    // Validate the params before asking the orchestrator for anything.
    let validated: StartRequest;
    try {
      validated = parseStartRequest({ gateway_request_id: session.id, params: clientBody['params'] });
    } catch (err) {
      this.countRejected('invalid');
      return this.startError(400, `Error starting stream: ${(err as Error).message}`);
    }
    if (this.processor.paramsSchema) {
      try {
        validated.params = await applyParamsSchema(this.processor.paramsSchema, validated.params);
      } catch (err) {
        this.countRejected('invalid');
        return this.startError(400, `Error starting stream: invalid params: ${(err as Error).message}`);
      }
    }
    if (this.plan.mode === 'live-runner' && !sameOrigin(session.control, this.plan.runner.orchUrl)) {
      // The worker calls this URL with the session token: only the orchestrator it registered with.
      return this.startError(400, `Error starting stream: Livepeer-Session-Control is not on the orchestrator ${new URL(this.plan.runner.orchUrl).origin}`);
    }
    if (this.registry.has(session.id)) return this.startError(409, `Error starting stream: session '${session.id}' already has a stream`);
    if (this.registry.size + this.pendingStarts >= this.capacity) {
      this.countRejected('capacity');
      return this.startError(503, 'Pipeline is still in use');
    }
    this.pendingStarts++;
    let channels;
    try {
      channels = await createSessionChannels(session, this.options.tls);
    } catch (err) {
      return this.startError(502, `Error starting stream: ${(err as Error).message}`);
    } finally {
      this.pendingStarts--;
    }
    if (this.state.shuttingDown) return this.startError(503, 'Server is shutting down');
    // The channels come from the orchestrator only: a client cannot point the worker elsewhere.
    const start = parseStartRequest({ gateway_request_id: session.id, params: clientBody['params'], ...channels.worker });
    start.params = validated.params; // as the processor's schema returned them
    let stream: StreamHandle;
    try {
      stream = this.factory(start);
    } catch (err) {
      return this.startError(400, `Error starting stream: ${(err as Error).message}`);
    }
    this.liveSessions.set(session.id, session);
    this.registry.add(stream);
    void stream.done.then(() => {
      this.liveSessions.delete(session.id);
      // A stream that ended on the worker's side frees its session on the orchestrator.
      if (!this.releasedSessions.delete(session.id)) void releaseSession(session, this.options.tls);
    });
    stream.start();
    this.log.info('session stream started', { stream_id: stream.id });
    return json(200, {
      status: 'success',
      message: 'Stream started successfully',
      request_id: session.id,
      session_id: session.id,
      ...channels.client,
      current_state: this.state.currentState(),
    });
  }

  private countRejected(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  private async stop(request: RouteRequest, query: URLSearchParams): Promise<RouteResponse> {
    let explicit: string | undefined = query.get('stream_id') ?? undefined;
    if (explicit === undefined && request.body.length > 0) {
      // pytrickle ignores the body; trickle-rt reads an optional id from it and ignores anything else.
      try {
        const body = JSON.parse(request.body.toString('utf8')) as unknown;
        if (typeof body === 'object' && body !== null) {
          const b = body as Record<string, unknown>;
          const id = b['stream_id'] ?? b['gateway_request_id'];
          if (typeof id === 'string' && id !== '') explicit = id;
        }
      } catch {
        /* body ignored, as pytrickle */
      }
    }
    const target = this.target(request, explicit, 'stop');
    if ('status' in target) return target;
    const streams = [target.stream];
    const results = await Promise.allSettled(streams.map((s) => s.stop('stopped')));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return json(500, errorBody(`Error stopping stream: ${(failed.reason as Error)?.message ?? String(failed.reason)}`));
    return json(200, { status: 'success', message: 'Stream stopped successfully' });
  }

  private async updateParams(request: RouteRequest, query: URLSearchParams): Promise<RouteResponse> {
    const ct = request.headers['content-type'];
    if (!isJsonContentType(ct)) return json(400, errorBody(`Parameter update failed: Unknown content type: ${ct ?? ''}`));
    let params: StreamParams;
    try {
      params = validateParams(parseJsonBody(request.body));
    } catch (err) {
      return json(400, errorBody(`Parameter update failed: ${(err as Error).message}`));
    }
    const target = this.target(request, query.get('stream_id') ?? undefined, 'update');
    if ('status' in target) return target;
    const streams = [target.stream];
    const results = await Promise.allSettled(streams.map((s) => s.updateParams(params, 'http')));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // The processor's params schema refused the values: the client's mistake, nothing changed.
      const refused = (failed.reason as { code?: unknown })?.code === 'ERR_INVALID_PARAM';
      return json(refused ? 400 : 500, errorBody(`Parameter update failed: ${(failed.reason as Error)?.message ?? String(failed.reason)}`));
    }
    return json(200, { status: 'success', message: 'Parameters updated successfully' });
  }

  /** The one stream a stop/params request names, or the error answer (docs/livepeer.md, "Which stream a request addresses"). */
  private target(request: RouteRequest, explicit: string | undefined, verb: 'stop' | 'update'): { stream: StreamHandle } | RouteResponse {
    const t = this.registry.target({ explicit, header: request.headers['x-stream-id'] || undefined, session: request.headers['livepeer-session-id'] || undefined }, this.capacity);
    switch (t.kind) {
      case 'stream':
        return { stream: t.stream };
      case 'none':
        return json(400, errorBody(`No active stream to ${verb}`));
      case 'unknown':
        return json(404, errorBody(`No active stream with id '${t.id}' to ${verb}; no other stream was touched`));
      case 'ambiguous':
        return json(400, errorBody(`No stream id given: ${t.running} streams are running; name one with the X-Stream-Id header or stream_id`));
    }
  }

  /** `GET /stream/status`: pytrickle's fields plus `capacity` and one entry per stream. */
  status(): Record<string, unknown> {
    const streams = this.streams();
    const first = streams[0];
    const out: Record<string, unknown> = {
      ...this.state.currentState(),
      client_active: streams.length > 0,
      capacity: this.capacity,
    };
    if (first) {
      out['client_running'] = first.phase === 'running' || first.phase === 'starting';
      out['fps'] = first.stats.fps();
      out['current_params'] = {
        subscribe_url: first.request.subscribe_url ?? null,
        publish_url: first.request.publish_url ?? null,
        gateway_request_id: first.id,
      };
    }
    out['streams'] = streams.map((s) => ({
      id: s.id,
      phase: s.phase,
      params: s.params,
      stats: s.stats.snapshot(),
    }));
    return out;
  }
}

/** True when both are URLs with the same scheme, host and port. */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
