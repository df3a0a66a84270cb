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
    subscriber(url, { start, signal }): ChannelSubscriber {
      return new TrickleSubscriber(url, { start: start ?? -2, signal });
    },
  };
}
