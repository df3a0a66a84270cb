import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { MpegTsPacer } from '../../trickle/mpegts-pacer';
import { looksLikeMpegTs, MpegTsSplitter, type SplitPiece } from '../../trickle/mpegts-splitter';
import { TricklePublisher } from '../../trickle/trickle-publisher';
import type { TrickleSegmentWriter } from '../../trickle/trickle-segment-writer';
import { CliUsageError, defineCommand, TLS_CA_OPTION, tlsOption } from '../args';

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

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'publish a file or stdin to a trickle channel (MPEG-TS cut at keyframes)',
  description: `Publishes a file (or stdin with -) to a trickle channel, streaming. MPEG-TS input is sent in real
time, paced by its own clock (PCR) as a camera or a gateway would send it, and cut into one segment
per keyframe (GOP); --as-fast-as-possible sends it without waiting. Other input is sent as it is
read, in segments of --segment-bytes, with a warning (a worker decodes MPEG-TS only). Ends with
DELETE on the channel so that subscribers see the end of the stream. On a terminal, a progress line
shows the media time sent.`,
  positionals: [{ name: 'FILE', help: 'the file to publish, or - for stdin', required: true }],
  options: {
    url: { kind: 'string', valueName: 'URL', required: true, help: 'the channel URL, e.g. http://127.0.0.1:8935/ai/trickle/stream1' },
    'segment-bytes': { kind: 'integer', min: 188, help: 'cut every N bytes (other input; default 1048576) / at most N bytes per segment (MPEG-TS; default: keyframes only)' },
    mime: { kind: 'string', default: 'video/MP2T', help: 'Content-Type of the segments' },
    start: { kind: 'string', valueName: 'next|N', default: 'next', help: "first segment: resume after the channel's last one, or N" },
    'keep-channel': { kind: 'boolean', help: 'do not DELETE the channel at the end' },
    'tls-ca': TLS_CA_OPTION,
    'as-fast-as-possible': { kind: 'boolean', help: 'send MPEG-TS input without real-time pacing (a worker then sees a burst)' },
    progress: { kind: 'boolean', default: true, help: 'show a progress line when stderr is a terminal (--no-progress: never)' },
  },
  examples: [
    'trickle-rt publish --url http://127.0.0.1:3389/stream1 clip.ts',
    'ffmpeg -re -i camera.mp4 -c copy -f mpegts - | trickle-rt publish --url http://127.0.0.1:3389/stream1 --as-fast-as-possible -',
  ],
  async run({ options, positionals }) {
    const url = options.url;
    const input = positionals[0]!;
    const segmentBytes = options['segment-bytes'];
    const startText = options.start;
    const start = startText === 'next' ? 'next' : Number(startText);
    if (start !== 'next' && (!/^\d+$/.test(startText) || !Number.isSafeInteger(start))) {
      throw new CliUsageError(`--start must be "next" or a segment index ≥ 0, not ${JSON.stringify(startText)}`, 'e.g. --start next');
    }
    // Opened before anything else, so that a wrong path is the first and only error.
    const file = input === '-' ? undefined : await open(input, 'r');
    const abort = new AbortController();
    const onSignal = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const publisher = new TricklePublisher(url, {
      mime: options.mime,
      start,
      deleteOnClose: !options['keep-channel'],
      ...tlsOption(options['tls-ca']),
      signal: abort.signal,
    });
    const source = file === undefined ? process.stdin : file.createReadStream({ highWaterMark: 256 * 1024 });
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
    let pacer: MpegTsPacer | undefined;
    const choose = (head: Buffer): MpegTsSplitter | FixedSplitter => {
      if (looksLikeMpegTs(head)) {
        if (!options['as-fast-as-possible']) pacer = new MpegTsPacer();
        return new MpegTsSplitter(segmentBytes === undefined ? {} : { maxSegmentBytes: segmentBytes });
      }
      if (options.mime === 'video/MP2T') {
        const name = input === '-' ? 'the input' : input;
        process.stderr.write(
          `trickle-rt publish: warning: ${name} is not MPEG-TS; sending it unpaced in ${segmentBytes ?? 1024 * 1024}-byte segments, which a worker cannot decode (remux it first, e.g. ffmpeg -i ${input === '-' ? 'INPUT' : input} -c copy -f mpegts out.ts)\n`,
        );
      }
      return new FixedSplitter(segmentBytes ?? 1024 * 1024);
    };
    const feed = async (data: Buffer): Promise<void> => {
      const active = splitter as MpegTsSplitter | FixedSplitter;
      if (!pacer) {
        await place(active.push(data));
        return;
      }
      for (const part of pacer.schedule(data)) {
        const wait = part.dueMs - performance.now();
        if (wait > 1) await sleep(wait, undefined, { signal: abort.signal });
        await place(active.push(part.data));
      }
    };
    const showProgress = options.progress && process.stderr.isTTY === true;
    const t0 = performance.now();
    const progressLine = (): string => {
      const media = pacer ? `${pacer.mediaSeconds.toFixed(1)} s of media, ` : '';
      const pace = pacer ? 'real time' : 'unpaced';
      return `publishing ${input === '-' ? 'stdin' : input}: ${media}${segments} segments, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s (${pace})`;
    };
    const ticker = showProgress ? setInterval(() => process.stderr.write(`\r\x1b[K${progressLine()}`), 500) : undefined;
    ticker?.unref();
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
          await feed(head);
          continue;
        }
        await feed(chunk);
      }
      if (!splitter && probed > 0) {
        const head = Buffer.concat(probe);
        splitter = choose(head);
        await feed(head);
      }
      if (splitter) await place(splitter.flush());
      if (seg) await seg.end();
      await publisher.close();
    } catch (err) {
      publisher.destroy();
      if ('destroy' in source && source !== process.stdin) source.destroy();
      if (abort.signal.aborted) {
        if (ticker) process.stderr.write('\r\x1b[K');
        process.stderr.write(`interrupted after ${segments} segments, ${bytes} bytes\n`);
        return 130;
      }
      throw err;
    } finally {
      if (ticker) clearInterval(ticker);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (ticker) process.stderr.write('\r\x1b[K');
    const kind = splitter instanceof MpegTsSplitter
      ? `MPEG-TS, cut at keyframes, ${pacer ? `${pacer.mediaSeconds.toFixed(1)} s of media in real time` : 'unpaced'}`
      : 'fixed-size';
    process.stderr.write(`published ${segments} segments, ${bytes} bytes (${kind})\n`);
    return 0;
  },
});
