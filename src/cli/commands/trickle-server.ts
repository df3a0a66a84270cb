import { TrickleServer, type TrickleServerOptions } from '../../trickle-server/trickle-server';
import { intOption, optionValue, parseArgs, untilSignal } from '../args';
import type { CliCommand } from '../command';

const usage = `trickle-rt trickle-server --port N [options]

Runs an embedded trickle server (go-livepeer wire behaviour) until SIGINT/SIGTERM. Prints the base
URL on stdout once listening.

  --port N              TCP port (0 = any free port)
  --host H              address to bind (default 127.0.0.1 without --auth-token, 0.0.0.0 with it)
  --auth-token T        require "Authorization: Bearer T" on every request (default env TRICKLE_SERVER_AUTH_TOKEN)
  --base-path P         URL prefix of the channels (default /; the orchestrator uses /ai/trickle/)
  --autocreate          create channels on their first POST (and allow POST {channel})
  --changefeed          maintain the _changes channel
  --channel NAME[=MIME] precreate a channel (repeatable)
  --idle-timeout-ms N   sweep channels without a new segment for this long (default 300000, 0 = never)
  --max-segment-bytes N largest segment accepted (default 67108864)

Limits (each a positive integer; defaults in docs/security.md):
  --max-retained-bytes N          bytes all segments together may hold; over it old segments are evicted
  --reader-stall-timeout-ms N     a reader whose socket takes nothing this long is cut
  --body-idle-timeout-ms N        a POST body silent this long after its first byte is cut
  --headers-timeout-ms N          a request head must arrive within this
  --keep-alive-timeout-ms N       idle keep-alive connections are closed after this
  --max-connections N             open connections in all
  --max-connections-per-client N  open connections from one address
  --max-channels N                channels in all
  --max-channels-per-client N     channels one address may create over HTTP (autocreate)
  --max-subscribers-per-channel N GETs on one channel
  --max-subscribers-per-client N  GETs one address may hold on one channel
  --max-client-bytes-per-second N segment bytes one address may upload per second (paused past it)`;

/** CLI flag → option, for the limits that are plain positive integers. */
const LIMIT_FLAGS = {
  'max-retained-bytes': 'maxRetainedBytes',
  'reader-stall-timeout-ms': 'readerStallTimeoutMs',
  'body-idle-timeout-ms': 'bodyIdleTimeoutMs',
  'headers-timeout-ms': 'headersTimeoutMs',
  'keep-alive-timeout-ms': 'keepAliveTimeoutMs',
  'max-connections': 'maxConnections',
  'max-connections-per-client': 'maxConnectionsPerClient',
  'max-channels': 'maxChannels',
  'max-channels-per-client': 'maxChannelsPerClient',
  'max-subscribers-per-channel': 'maxSubscribersPerChannel',
  'max-subscribers-per-client': 'maxSubscribersPerClient',
  'max-client-bytes-per-second': 'maxClientBytesPerSecond',
} as const satisfies Record<string, keyof TrickleServerOptions>;

export const trickleServerCommand: CliCommand = {
  name: 'trickle-server',
  summary: 'run an embedded trickle server (channels, segments, EOS) until interrupted',
  usage,
  async run(args) {
    const p = parseArgs(
      args,
      { values: ['port', 'host', 'base-path', 'channel', 'idle-timeout-ms', 'max-segment-bytes', 'auth-token', ...Object.keys(LIMIT_FLAGS)], flags: ['autocreate', 'changefeed'] },
      'trickle-server',
    );
    const port = intOption(p, 'port', 0, 65535);
    if (port === undefined) {
      process.stderr.write(`Usage: ${usage}\n`);
      return 2;
    }
    const authToken = optionValue(p, 'auth-token') ?? (process.env['TRICKLE_SERVER_AUTH_TOKEN'] || undefined);
    const host = optionValue(p, 'host') ?? (authToken ? '0.0.0.0' : '127.0.0.1');
    const limits: TrickleServerOptions = {};
    for (const [flag, key] of Object.entries(LIMIT_FLAGS)) {
      const value = intOption(p, flag, 1);
      if (value !== undefined) limits[key] = value;
    }
    const server = new TrickleServer({
      ...limits,
      basePath: optionValue(p, 'base-path') ?? '/',
      autocreate: p.flags.has('autocreate'),
      changefeed: p.flags.has('changefeed'),
      idleTimeoutMs: intOption(p, 'idle-timeout-ms', 0),
      maxSegmentBytes: intOption(p, 'max-segment-bytes', 1),
      ...(authToken ? { authToken } : {}),
    });
    for (const spec of p.values.get('channel') ?? []) {
      const eq = spec.indexOf('=');
      server.createChannel(eq < 0 ? spec : spec.slice(0, eq), eq < 0 ? 'video/MP2T' : spec.slice(eq + 1));
    }
    const signal = untilSignal();
    const bound = await server.listen(port, host);
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    process.stdout.write(`trickle server listening on http://${shownHost}:${bound}${server.basePath}\n`);
    if (!authToken && optionValue(p, 'host') === undefined) {
      process.stderr.write('trickle-server: no --auth-token, so listening on loopback only (pass --host to change)\n');
    } else if (!authToken) {
      process.stderr.write(`trickle-server: no --auth-token: anyone who reaches ${host} can read and write every channel\n`);
    }
    const sig = await signal;
    process.stderr.write(`trickle-server: ${sig}, closing\n`);
    await server.close();
    return 0;
  },
};
