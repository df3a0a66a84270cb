import { fromNativeError } from '../errors';

/** Runs a synchronous native call and converts what it throws into a TrickleError. */
export function callNativeSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNativeError(err);
  }
}
