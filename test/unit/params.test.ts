import { describe, expect, it } from 'vitest';

import { jsonBoundsProblem, liveBitrate, mediaSettings, validateParams } from '../../src/params';

/** `{ a: { a: ... } }` nested `depth` levels (built without recursion). */
function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    node['a'] = next;
    node = next;
  }
  return root;
}

describe('validateParams (pytrickle rules, docs/compat.md)', () => {
  it('rejects non-objects', () => {
    for (const v of [null, 3, 'x', [1], true]) expect(() => validateParams(v)).toThrow('Params must be a dictionary');
  });
  it('passes unknown keys through untouched', () => {
    const nested = { a: [1, { b: 2 }] };
    const out = validateParams({ prompt: 'cat', nested, strength: 0.5 });
    expect(out).toEqual({ prompt: 'cat', nested, strength: 0.5 });
    expect(out['nested']).toBe(nested);
  });
  it('requires width and height together', () => {
    expect(() => validateParams({ width: 512 })).toThrow("Both 'width' and 'height' must be provided together");
    expect(() => validateParams({ height: 512 })).toThrow("Both 'width' and 'height' must be provided together");
  });
  it('coerces integer strings and rejects non-integers', () => {
    expect(validateParams({ width: '640', height: ' 360 ' })).toMatchObject({ width: 640, height: 360 });
    expect(validateParams({ width: 640.0, height: 360 })).toMatchObject({ width: 640, height: 360 });
    for (const bad of ['abc', 12.5, '12.5', {}, [], true]) {
      expect(() => validateParams({ width: bad, height: 100 })).toThrow('Width and height must be valid integers or integer strings');
    }
  });
  it('gives width/height <= 0 its own message (deviation: pytrickle masks it)', () => {
    expect(() => validateParams({ width: 0, height: 100 })).toThrow(/^Width and height must be positive integers \(received 0x100\)$/);
    expect(() => validateParams({ width: 100, height: '-5' })).toThrow('Width and height must be positive integers');
  });
  it('validates max_framerate as pytrickle', () => {
    expect(validateParams({ max_framerate: '30' })['max_framerate']).toBe(30);
    expect(validateParams({ max_framerate: 60 })['max_framerate']).toBe(60);
    expect(() => validateParams({ max_framerate: 'fast' })).toThrow('max_framerate must be a valid integer');
    expect(() => validateParams({ max_framerate: 2.5 })).toThrow('max_framerate must be a valid integer');
    expect(() => validateParams({ max_framerate: 0 })).toThrow('max_framerate must be a positive integer');
    expect(() => validateParams({ max_framerate: -3 })).toThrow('max_framerate must be a positive integer');
    expect(() => validateParams({ max_framerate: 61 })).toThrow('max_framerate cannot exceed 60 FPS');
  });
  it('coerces detect_out_resolution', () => {
    const cases: Array<[unknown, boolean]> = [
      [true, true], [false, false], ['true', true], ['YES', true], ['1', true], ['false', false], ['No', false], ['0', false], [1, true], [0, false], [7, true],
    ];
    for (const [v, want] of cases) expect(validateParams({ detect_out_resolution: v })['detect_out_resolution']).toBe(want);
    for (const bad of ['maybe', 1.5, {}, []]) {
      expect(() => validateParams({ detect_out_resolution: bad })).toThrow('detect_out_resolution must be a boolean value');
    }
  });
  it('checks width/height before max_framerate (pytrickle order)', () => {
    expect(() => validateParams({ width: 1, max_framerate: 99 })).toThrow("Both 'width'");
  });
  it('derives media settings with pytrickle defaults', () => {
    expect(mediaSettings({})).toEqual({ width: 512, height: 512, maxFramerate: 24, detectOutResolution: true, bitrate: null });
    expect(mediaSettings(validateParams({ width: '320', height: 240, max_framerate: 10, detect_out_resolution: 'no' }))).toEqual({
      width: 320, height: 240, maxFramerate: 10, detectOutResolution: false, bitrate: null,
    });
  });

  it('validates bitrate: bits/s as an integer (or integer string) in range, or "quality"', () => {
    expect(mediaSettings(validateParams({ bitrate: 2_000_000 })).bitrate).toBe(2_000_000);
    expect(mediaSettings(validateParams({ bitrate: '750000' })).bitrate).toBe(750_000);
    expect(mediaSettings(validateParams({ bitrate: 'Quality' })).bitrate).toBe('quality');
    for (const bad of [0, 9_999, 500_000_001, 1.5, 'fast', true]) {
      expect(() => validateParams({ bitrate: bad }), String(bad)).toThrow(/bitrate must be/);
    }
  });

  it('chooses the live default bitrate from the output size and rate, bounded', () => {
    expect(liveBitrate(512, 512, 24)).toBe(944_000);
    expect(liveBitrate(1920, 1080, 24)).toBe(7_465_000);
    expect(liveBitrate(1920, 1080, 60)).toBe(8_000_000);
    expect(liveBitrate(64, 64, 10)).toBe(300_000);
  });
  it('bounds what crosses the process boundary: depth and number of values (deviation: pytrickle takes anything)', () => {
    expect(() => validateParams(nested(64))).not.toThrow();
    expect(() => validateParams(nested(65))).toThrow(/^Params must not nest deeper than 64 levels$/);
    // The depth that made JSON.stringify overflow the stack is refused before anything recurses into it.
    expect(() => validateParams(JSON.parse(`{"p":${'['.repeat(5000)}${']'.repeat(5000)}}`))).toThrow('nest deeper than 64 levels');
    expect(() => validateParams({ list: new Array(100_000).fill(0) })).toThrow(/^Params must not hold more than 100000 values$/);
    expect(jsonBoundsProblem([[[]]], { maxDepth: 2, maxValues: 10 })).toBe('nest deeper than 2 levels');
    expect(jsonBoundsProblem([1, 2, 3], { maxDepth: 2, maxValues: 3 })).toBe('hold more than 3 values');
    expect(jsonBoundsProblem({ a: [1, { b: 'x' }] })).toBeUndefined();
  });
  it('refuses sizes the media path cannot produce (odd, 1x1, over 4096) at validation time', () => {
    for (const [w, h] of [[1, 1], [513, 512], [512, 7], [4098, 512], [20000, 20000]]) {
      expect(() => validateParams({ width: w, height: h })).toThrow(`Width and height must be even integers from 2 to 4096 (received ${w}x${h})`);
    }
    expect(validateParams({ width: 4096, height: 2 })).toMatchObject({ width: 4096, height: 2 });
  });
});
