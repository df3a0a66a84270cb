/**
 * The default {@link TransportFactory}: trickle-rt's own TricklePublisher / TrickleSubscriber.
 */
import { TricklePublisher } from '../trickle/trickle-publisher';
import { TrickleSubscriber } from '../trickle/trickle-subscriber';
import type { ChannelPublisher, ChannelSubscriber, TransportFactory } from './transport';

export function trickleTransport(): TransportFactory {
  return {
    publisher(url, { mimeType, signal }): ChannelPublisher {
      const pub = new TricklePublisher(url, { mime: mimeType, signal });
      let used = false;
      return {
        async next() {
          used = true;
          const writer = await pub.next();
          return {
            write: (chunk) => writer.write(chunk),
            close: () => writer.end(),
          };
        },
        async close() {
          if (used) return pub.close();
          // Nothing was ever published (e.g. the input held no decodable frame): the publisher has
          // no session to close, but downstream must still see EOS, so DELETE the channel here.
          await pub.close();
          const res = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(5000) }).catch(() => undefined);
          await res?.arrayBuffer().catch(() => undefined);
        },
      };
    },
    subscriber(url, { start, signal }): ChannelSubscriber {
      return new TrickleSubscriber(url, { start: start ?? -2, signal });
    },
  };
}
