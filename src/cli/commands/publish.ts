import { createReadStream } from 'node:fs';

import { ErrorCodes, TrickleError } from '../../errors';
import { looksLikeMpegTs, MpegTsSplitter, type SplitPiece } from '../../trickle/mpegts-splitter';
import { TricklePublisher } from '../../trickle/trickle-publisher';
import type { TrickleSegmentWriter } from '../../trickle/trickle-segment-writer';
import { intOption, optionValue, parseArgs, tlsOption } from '../args';
import type { CliCommand } from '../command';

const usage = `trickle-rt publish --url URL [options] FILE|-

Publishes a file (or stdin with -) to a trickle channel, streaming. MPEG-TS input is cut into one
segment per keyframe (GOP); other input into segments of --segment-bytes. Ends with DELETE on the
channel so that subscribers see the end of the stream.

  --url URL             the channel URL, e.g. http://127.0.0.1:8935/ai/trickle/stream1
  --segment-bytes N     cut every N bytes (other input; default 1048576) / at most N bytes per
                        segment (MPEG-TS; default: keyframes only)
  --mime M              Content-Type (default video/MP2T)
  --start next|N        first segment: resume after the channel's last one (default) or N
  --keep-channel        do not DELETE the channel at the end
  --tls-ca FILE         verify an https channel against this PEM file (a CA or the orchestrator's
                        own certificate); default: env TRICKLE_TLS_CA, else no verification, as
                        go-livepeer's self-signed certificate needs`;

const PROBE_BYTES = 188 * 4;

/** Cuts non-TS input every `size` bytes. */
class FixedSplitter {
  private inSegment = 0;
  private started = false;
  constructor(private readonly size: number) {}
  push(chunk: Buffer): SplitPiece[] {
    const out: SplitPiece[] = [];
    let off = 0;
    while (off < chunk.length) {
      const newSegment = !this.started || this.inSegment >= this.size;
      if (newSegment) this.inSegment = 0;
      this.started = true;
      const take = Math.min(chunk.length - off, this.size - this.inSegment);
      out.push({ data: chunk.subarray(off, off + take), newSegment });
      this.inSegment += take;
      off += take;
    }
    return out;
  }
  flush(): SplitPiece[] {
    return [];
  }
}

export const publishCommand: CliCommand = {
  name: 'publish',
  summary: 'publish a file or stdin to a trickle channel (MPEG-TS cut at keyframes)',
  usage,
  async run(args) {
    const p = parseArgs(args, { values: ['url', 'segment-bytes', 'mime', 'start', 'tls-ca'], flags: ['keep-channel'] }, 'publish');
    const url = optionValue(p, 'url');
    const input = p.positionals[0];
    if (!url || input === undefined || p.positionals.length > 1) {
      process.stderr.write(`Usage: ${usage}\n`);
      return 2;
    }
    const segmentBytes = intOption(p, 'segment-bytes', 188);
    const startText = optionValue(p, 'start') ?? 'next';
    const start = startText === 'next' ? 'next' : Number(startText);
    if (start !== 'next' && (!Number.isSafeInteger(start) || start < 0)) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected "next" or an index ≥ 0 for --start but received ${JSON.stringify(startText)}`);
    }
    const abort = new AbortController();
    const onSignal = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const publisher = new TricklePublisher(url, {
      mime: optionValue(p, 'mime') ?? 'video/MP2T',
      start,
      deleteOnClose: !p.flags.has('keep-channel'),
      signal: abort.signal,
      ...tlsOption(p),
    });
    const source = input === '-' ? process.stdin : createReadStream(input, { highWaterMark: 256 * 1024 });
    let splitter: MpegTsSplitter | FixedSplitter | undefined;
    let probe: Buffer[] = [];
    let probed = 0;
    let seg: TrickleSegmentWriter | undefined;
    let segments = 0;
    let bytes = 0;
    const place = async (pieces: SplitPiece[]): Promise<void> => {
      for (const piece of pieces) {
        if (piece.newSegment || !seg) {
          if (seg) await seg.end();
          seg = await publisher.next();
          segments++;
        }
        bytes += piece.data.length;
        await seg.write(piece.data);
      }
    };
    const choose = (head: Buffer): MpegTsSplitter | FixedSplitter =>
      looksLikeMpegTs(head) ? new MpegTsSplitter(segmentBytes === undefined ? {} : { maxSegmentBytes: segmentBytes }) : new FixedSplitter(segmentBytes ?? 1024 * 1024);
    try {
      await publisher.start();
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (!splitter) {
          probe.push(chunk);
          probed += chunk.length;
          if (probed < PROBE_BYTES) continue;
          const head = Buffer.concat(probe);
          probe = [];
          splitter = choose(head);
          await place(splitter.push(head));
          continue;
        }
        await place(splitter.push(chunk));
      }
      if (!splitter && probed > 0) {
        const head = Buffer.concat(probe);
        splitter = choose(head);
        await place(splitter.push(head));
      }
      if (splitter) await place(splitter.flush());
      if (seg) await seg.end();
      await publisher.close();
    } catch (err) {
      publisher.destroy();
      if ('destroy' in source && source !== process.stdin) source.destroy();
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const kind = splitter instanceof MpegTsSplitter ? 'MPEG-TS, cut at keyframes' : 'fixed-size';
    process.stderr.write(`published ${segments} segments, ${bytes} bytes (${kind})\n`);
    return 0;
  },
};
