import { describe, expect, it } from 'vitest';

import { fromNativeError, invalidArg, TrickleError } from '../../src/errors';
import { callNative } from '../../src/native/call';

describe('TrickleError', () => {
  it('converts a native error, keeping code, op and nativeCode', () => {
    const nativeErr = Object.assign(new Error('avcodec_send_packet failed: Invalid data'), {
      code: 'ERR_DECODE',
      op: 'avcodec_send_packet',
      nativeCode: -1094995529,
    });
    const err = fromNativeError(nativeErr);
    expect(err).toBeInstanceOf(TrickleError);
    expect(err.code).toBe('ERR_DECODE');
    expect(err.op).toBe('avcodec_send_packet');
    expect(err.nativeCode).toBe(-1094995529);
    expect(err.cause).toBe(nativeErr);
  });

  it('gives errors without a code ERR_NATIVE and passes TrickleErrors through', () => {
    expect(fromNativeError(new Error('x')).code).toBe('ERR_NATIVE');
    expect(fromNativeError('boom').message).toBe('boom');
    const te = new TrickleError('ERR_CLOSED', 'closed');
    expect(fromNativeError(te)).toBe(te);
  });

  it('callNative grafts the caller stack onto the converted error', async () => {
    async function userCode(): Promise<void> {
      await callNative(() => Promise.reject(Object.assign(new Error('bad'), { code: 'ERR_DEMUX' })));
    }
    const err = await userCode().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_DEMUX');
    expect((err as TrickleError).stack).toContain('userCode');
  });

  it('formats validation errors in one shape', () => {
    const err = invalidArg('width', 'a positive integer', -1);
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toBe('Expected a positive integer for width but received -1');
    expect(invalidArg('name', 'a string', { a: 1 }).message).toBe('Expected a string for name but received {"a":1}');
  });
});
