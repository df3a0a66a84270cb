/**
 * The worker's last line of defence: an error that escapes every handler (an unhandled promise
 * rejection, an exception thrown from a callback) is reported — logged at error level with the
 * stream it belongs to, counted — and never silently dropped. One that belongs to a stream (its
 * async scope, see stream/stream-scope.ts) ends that stream with the error and the worker goes on
 * serving the others. One that belongs to no stream: a rejection is reported and the worker goes
 * on; a thrown exception is reported and the process exits 1 (node's own behaviour), because
 * nothing says the state it left behind is sound.
 */
import type { Logger } from '../logger';
import { streamScope } from '../stream/stream-scope';

export interface ProcessGuard {
  /** Errors reported so far. */
  readonly escaped: number;
  /** Removes the process handlers. */
  uninstall(): void;
}

/**
 * Installs `unhandledRejection` and `uncaughtException` handlers on the process.
 *
 * @example
 * const guard = installProcessGuard(logger);
 * // later: guard.uninstall();
 */
export function installProcessGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): ProcessGuard {
  let escaped = 0;
  const report = (error: unknown, origin: 'unhandledRejection' | 'uncaughtException'): void => {
    escaped += 1;
    const scope = streamScope.getStore();
    log.error('error escaped every handler', { origin, stream_id: scope?.streamId ?? null, err: error });
    if (scope) {
      scope.fail(error);
      return;
    }
    if (origin === 'uncaughtException') {
      log.error('exiting: an exception outside any stream leaves the worker in an unknown state', { origin });
      exit(1);
    }
  };
  const onRejection = (reason: unknown): void => report(reason, 'unhandledRejection');
  const onException = (error: Error): void => report(error, 'uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    get escaped() {
      return escaped;
    },
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
