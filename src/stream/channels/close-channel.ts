import type { Logger } from '../../logger';
import type { ChannelPublisher } from '../transport';

/**
 * Closes an output side channel (events, data): DELETEs it so the gateway sees EOS, opening the
 * publisher first when nothing was ever sent on it. Failures are logged, never thrown: closing a
 * side channel must not fail the stream's shutdown.
 */
export async function closeSideChannel(
  publisher: ChannelPublisher | undefined,
  open: () => ChannelPublisher,
  log: Logger,
): Promise<void> {
  try {
    await (publisher ?? open()).close();
  } catch (err) {
    log.debug('channel close failed', { err });
  }
}
