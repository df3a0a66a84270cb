/** The two ways to call into the addon: both convert what it throws into a TrickleError. */
import { fromNativeError } from '../errors';

/** Runs a synchronous native call and converts what it throws into a TrickleError. */
export function callNativeSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNativeError(err);
  }
}

/** Runs an async native call and converts its rejection, keeping the caller's stack. */
export async function callNative<T>(fn: () => Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await fn();
  } catch (err) {
    throw fromNativeError(err, site);
  }
}
