/**
 * The default {@link TransportFactory}: trickle-rt's own TricklePublisher / TrickleSubscriber,
 * under one TLS policy. Channels asked to ride out outages (the media path) use a RidingPublisher
 * and a subscriber whose cut-off segments end quietly.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { RidingPublisher } from '../trickle/riding-publisher';
import { resolveTls, type TlsOptions } from '../trickle/tls';
import { TricklePublisher } from '../trickle/trickle-publisher';
import type { TrickleSegment } from '../trickle/trickle-segment';
import { TrickleSubscriber } from '../trickle/trickle-subscriber';
import type { ChannelPublisher, ChannelSubscriber, OutageHandling, TransportFactory } from './transport';

export interface TrickleTransportOptions {
  /** Certificate check of https channels (default: env `TRICKLE_TLS_CA` if set, else none). */
  tls?: TlsOptions | false;
}

function ridesOutages(o: OutageHandling): boolean {
  return o.outageMs !== undefined || o.onOutage !== undefined || o.onRecovered !== undefined;
}

/** A segment whose connection is cut ends where it was cut (the subscriber reports the outage). */
async function* untilCut(segment: TrickleSegment): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of segment) yield chunk;
  } catch (err) {
    if (err instanceof TrickleError && err.code === ErrorCodes.ERR_TRICKLE_NETWORK) return;
    throw err;
  }
}

async function* segmentsRidingCuts(sub: TrickleSubscriber): AsyncGenerator<AsyncIterable<Uint8Array>> {
  for await (const segment of sub) yield untilCut(segment);
}

export function trickleTransport(options: TrickleTransportOptions = {}): TransportFactory {
  // Resolved once: a bad certificate file fails when the worker is configured, not mid-stream.
  const policy = resolveTls(options.tls);
  const tls = policy.verify ? { ca: policy.ca } : (false as const);
  return {
    publisher(url, { mimeType, signal, ...outage }): ChannelPublisher {
      if (ridesOutages(outage)) {
        const pub = new RidingPublisher(url, { mime: mimeType, signal, tls, ...outage });
        return {
          async next() {
            const seg = await pub.next();
            return {
              write: (chunk) => seg.write(chunk),
              close: async () => {
                await seg.end();
              },
            };
          },
          close: () => pub.close(),
        };
      }
      const pub = new TricklePublisher(url, { mime: mimeType, signal, tls });
      return {
        async next() {
          const writer = await pub.next();
          return {
            write: (chunk) => writer.write(chunk),
            close: () => writer.end(),
          };
        },
        close: () => pub.close(),
      };
    },
    subscriber(url, { start, signal, ...outage }): ChannelSubscriber {
      const sub = new TrickleSubscriber(url, { start: start ?? -2, signal, tls, ...outage });
      if (!ridesOutages(outage)) return sub;
      return {
        [Symbol.asyncIterator]: () => segmentsRidingCuts(sub),
        // Why iteration ended ('not-found': the channel does not exist), for a clear stream error.
        get endReason() {
          return sub.endReason;
        },
      };
    },
  };
}
