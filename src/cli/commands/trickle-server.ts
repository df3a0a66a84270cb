import { TrickleServer, type TrickleServerOptions } from '../../trickle-server/trickle-server';
import { defineCommand, untilSignal, type OptionSpec } from '../args';

/** CLI flag → option, for the limits that are plain positive integers. */
const LIMIT_FLAGS = {
  'max-retained-bytes': ['maxRetainedBytes', 'bytes all segments together may hold; over it old segments are evicted'],
  'reader-stall-timeout-ms': ['readerStallTimeoutMs', 'a reader whose socket takes nothing this long is cut'],
  'body-idle-timeout-ms': ['bodyIdleTimeoutMs', 'a POST body silent this long after its first byte is cut'],
  'headers-timeout-ms': ['headersTimeoutMs', 'a request head must arrive within this'],
  'keep-alive-timeout-ms': ['keepAliveTimeoutMs', 'idle keep-alive connections are closed after this'],
  'max-connections': ['maxConnections', 'open connections in all'],
  'max-connections-per-client': ['maxConnectionsPerClient', 'open connections from one address'],
  'max-channels': ['maxChannels', 'channels in all'],
  'max-channels-per-client': ['maxChannelsPerClient', 'channels one address may create over HTTP (autocreate)'],
  'max-subscribers-per-channel': ['maxSubscribersPerChannel', 'GETs on one channel'],
  'max-subscribers-per-client': ['maxSubscribersPerClient', 'GETs one address may hold on one channel'],
  'max-client-bytes-per-second': ['maxClientBytesPerSecond', 'segment bytes one address may upload per second (paused past it)'],
} as const satisfies Record<string, readonly [keyof TrickleServerOptions, string]>;

type LimitFlag = keyof typeof LIMIT_FLAGS;
const limitOptions = Object.fromEntries(
  Object.entries(LIMIT_FLAGS).map(([flag, [, help]]) => [flag, { kind: 'integer', min: 1, help: `limit: ${help} (default in docs/security.md)` }]),
) as Record<LimitFlag, { kind: 'integer'; min: 1; help: string }>;

export const trickleServerCommand = defineCommand({
  name: 'trickle-server',
  summary: 'run an embedded trickle server (channels, segments, EOS) until interrupted',
  description: `Runs an embedded trickle server (go-livepeer wire behaviour) until SIGINT/SIGTERM. Prints the base
URL on stdout once listening. Without --auth-token it listens on loopback only unless --host says
otherwise.`,
  options: {
    port: { kind: 'integer', min: 0, max: 65535, required: true, help: 'TCP port (0 = any free port)' },
    host: { kind: 'string', valueName: 'ADDRESS', help: 'address to bind (default 127.0.0.1 without --auth-token, 0.0.0.0 with it)' },
    'auth-token': { kind: 'string', valueName: 'TOKEN', env: 'TRICKLE_SERVER_AUTH_TOKEN', help: 'require "Authorization: Bearer TOKEN" on every request' },
    'base-path': { kind: 'string', valueName: 'PATH', default: '/', help: 'URL prefix of the channels (the orchestrator uses /ai/trickle/)' },
    autocreate: { kind: 'boolean', help: 'create channels on their first POST (and allow POST {channel})' },
    changefeed: { kind: 'boolean', help: 'maintain the _changes channel' },
    channel: { kind: 'string', valueName: 'NAME[=MIME]', multiple: true, help: 'precreate a channel (MIME default video/MP2T)' },
    'idle-timeout-ms': { kind: 'integer', min: 0, help: 'sweep channels without a new segment for this long (default 300000, 0 = never)' },
    'max-segment-bytes': { kind: 'integer', min: 1, help: 'largest segment accepted (default 67108864)' },
    ...limitOptions,
    'memory-budget-scope': {
      kind: 'string',
      valueName: 'SCOPE',
      choices: ['segments', 'process'],
      help: 'what --max-retained-bytes bounds: segments (their memory; the default) or process (the RSS growth of this process: segments give way to garbage and allocator slack)',
    },
  } satisfies Record<string, OptionSpec>,
  examples: ['trickle-rt trickle-server --port 3389 --autocreate'],
  async run({ options }) {
    const authToken = options['auth-token'] || undefined;
    const host = options.host ?? (authToken ? '0.0.0.0' : '127.0.0.1');
    const limits: TrickleServerOptions = {};
    for (const [flag, [key]] of Object.entries(LIMIT_FLAGS) as Array<[LimitFlag, readonly [keyof TrickleServerOptions, string]]>) {
      const value = options[flag];
      if (value !== undefined) (limits as Record<string, number>)[key] = value;
    }
    const scope = options['memory-budget-scope'] as 'segments' | 'process' | undefined;
    const server = new TrickleServer({
      ...limits,
      ...(scope ? { memoryBudgetScope: scope } : {}),
      basePath: options['base-path'],
      autocreate: options.autocreate,
      changefeed: options.changefeed,
      idleTimeoutMs: options['idle-timeout-ms'],
      maxSegmentBytes: options['max-segment-bytes'],
      ...(authToken ? { authToken } : {}),
    });
    for (const spec of options.channel) {
      const eq = spec.indexOf('=');
      server.createChannel(eq < 0 ? spec : spec.slice(0, eq), eq < 0 ? 'video/MP2T' : spec.slice(eq + 1));
    }
    const signal = untilSignal();
    const bound = await server.listen(options.port, host);
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    process.stdout.write(`trickle server listening on http://${shownHost}:${bound}${server.basePath}\n`);
    if (!authToken && options.host === undefined) {
      process.stderr.write('trickle-server: no --auth-token, so listening on loopback only (pass --host to change)\n');
    } else if (!authToken) {
      process.stderr.write(`trickle-server: no --auth-token: anyone who reaches ${host} can read and write every channel\n`);
    }
    if (server.slabMemory === 'heap') {
      process.stderr.write('trickle-server: the native addon did not load, so segment memory is left to the garbage collector (the RSS follows --max-retained-bytes loosely; docs/security.md)\n');
    }
    const sig = await signal;
    process.stderr.write(`trickle-server: ${sig}, closing\n`);
    await server.close();
    return 0;
  },
});
