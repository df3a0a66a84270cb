import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

import { ErrorCodes, TrickleError } from '../../errors';
import { TrickleSubscriber } from '../../trickle/trickle-subscriber';
import { intOption, optionValue, parseArgs, tlsOption } from '../args';
import type { CliCommand } from '../command';

const usage = `trickle-rt subscribe --url URL [options]

Reads a trickle channel and writes the bytes of its segments, in order, to a file or stdout,
until the channel ends (EOS), disappears (404) or SIGINT/SIGTERM.

  --url URL             the channel URL
  --out FILE            where to write (default: stdout)
  --start N             first segment: -2 = the current one from its start (default), -1 = the
                        next one, N ≥ 0 = that one
  --tls-ca FILE         verify an https channel against this PEM file (a CA or the orchestrator's
                        own certificate); default: env TRICKLE_TLS_CA, else no verification, as
                        go-livepeer's self-signed certificate needs`;

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

export const subscribeCommand: CliCommand = {
  name: 'subscribe',
  summary: 'read a trickle channel to a file or stdout until the end of the stream',
  usage,
  async run(args) {
    const p = parseArgs(args, { values: ['url', 'out', 'start', 'tls-ca'], flags: [] }, 'subscribe');
    const url = optionValue(p, 'url');
    if (!url || p.positionals.length > 0) {
      process.stderr.write(`Usage: ${usage}\n`);
      return 2;
    }
    const start = intOption(p, 'start', -2) ?? -2;
    const outPath = optionValue(p, 'out');
    const out: Writable = outPath ? createWriteStream(outPath) : process.stdout;
    const sub = new TrickleSubscriber(url, { start, ...tlsOption(p) });
    const onSignal = (): void => sub.close();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let segments = 0;
    let bytes = 0;
    try {
      for await (const segment of sub) {
        segments++;
        for await (const chunk of segment) {
          bytes += chunk.length;
          await write(out, chunk);
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (out !== process.stdout) {
        out.end();
        await once(out, 'close');
      }
    }
    process.stderr.write(`received ${segments} segments, ${bytes} bytes (end: ${sub.endReason ?? 'error'})\n`);
    if (sub.endReason === 'not-found' && segments === 0) {
      throw new TrickleError(ErrorCodes.ERR_STREAM_NOT_FOUND, `trickle channel ${url} does not exist`);
    }
    return 0;
  },
};
