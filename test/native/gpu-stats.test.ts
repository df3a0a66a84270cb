/**
 * `/hardware/stats` from NVML. The real libnvidia-ml.so.1 is absent on a machine without the
 * NVIDIA driver: the stats are empty with the reason. The real path (dlopen, the _v2 entry points,
 * the per-GPU reads) is exercised against a small NVML-compatible library compiled here, so that
 * values, units and the ai-runner JSON shape are checked exactly without a GPU.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { gpuStats } from '../../src/native/capabilities';
import { gpuUtilization } from '../../src/worker/hardware';

const dir = mkdtempSync(join(tmpdir(), 'trickle-nvml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two GPUs; the second reports no utilisation and no power (as some boards do). */
const FAKE_NVML = `
#include <string.h>
typedef struct { unsigned int gpu, memory; } util_t;
typedef struct { unsigned long long total, free, used; } mem_t;
static int inited = 0;
int nvmlInit_v2(void) { inited = 1; return 0; }
int nvmlDeviceGetCount_v2(unsigned int* n) { if (!inited) return 1; *n = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** h) { *h = (void*)(unsigned long)(i + 1); return 0; }
int nvmlDeviceGetName(void* h, char* name, unsigned int len) { strncpy(name, h == (void*)1 ? "Fake H100" : "Fake L4", len); return 0; }
int nvmlDeviceGetMemoryInfo(void* h, mem_t* m) { m->total = 85899345920ULL; m->free = h == (void*)1 ? 42949672960ULL : 85899345920ULL; m->used = m->total - m->free; return 0; }
int nvmlDeviceGetUtilizationRates(void* h, util_t* u) { if (h != (void*)1) return 3; u->gpu = 87; u->memory = 41; return 0; }
int nvmlDeviceGetTemperature(void* h, int sensor, unsigned int* t) { if (sensor != 0) return 2; *t = h == (void*)1 ? 66 : 40; return 0; }
int nvmlDeviceGetPowerUsage(void* h, unsigned int* mw) { if (h != (void*)1) return 3; *mw = 312500; return 0; }
const char* nvmlErrorString(int r) { return r == 3 ? "Not Supported" : "Unknown Error"; }
`;

/** An NVML that fails to initialise (a driver/library mismatch). */
const FAILING_NVML = `
int nvmlInit_v2(void) { return 18; }
int nvmlDeviceGetCount_v2(unsigned int* n) { return 1; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** h) { return 1; }
int nvmlDeviceGetName(void* h, char* name, unsigned int len) { return 1; }
int nvmlDeviceGetMemoryInfo(void* h, void* m) { return 1; }
int nvmlDeviceGetUtilizationRates(void* h, void* u) { return 1; }
int nvmlDeviceGetTemperature(void* h, int s, unsigned int* t) { return 1; }
int nvmlDeviceGetPowerUsage(void* h, unsigned int* mw) { return 1; }
const char* nvmlErrorString(int r) { return r == 18 ? "Driver/library version mismatch" : "Unknown Error"; }
`;

function compile(name: string, source: string): string {
  const c = join(dir, `${name}.c`);
  const so = join(dir, `${name}.so`);
  writeFileSync(c, source);
  execFileSync('cc', ['-shared', '-fPIC', '-o', so, c]);
  return so;
}

const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const hasDriver = ['/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1', '/usr/lib64/libnvidia-ml.so.1', '/usr/lib/libnvidia-ml.so.1'].some((p) => existsSync(p));

describe('GPU stats from NVML', () => {
  it.skipIf(hasDriver)('without the NVIDIA driver: no stats, and the reason names the missing library', () => {
    const s = gpuStats();
    expect(s.available).toBe(false);
    expect(s.gpus).toEqual([]);
    expect(s.reason).toMatch(/^NVML \(libnvidia-ml\.so\.1\) not found: .*comes with the NVIDIA driver$/);
    const body = gpuUtilization();
    expect(body).toEqual({ gpu_stats: {}, gpu_stats_unavailable: s.reason });
  });

  it.skipIf(!hasCc)('reads every GPU through the NVML entry points, in ai-runner\'s /hardware/stats shape', () => {
    const lib = compile('fake-nvml', FAKE_NVML);
    const s = gpuStats(lib);
    expect(s).toEqual({
      available: true,
      gpus: [
        { index: 0, name: 'Fake H100', memoryTotal: 85899345920, memoryFree: 42949672960, utilizationCompute: 87, utilizationMemory: 41, temperatureC: 66, powerW: 312.5 },
        { index: 1, name: 'Fake L4', memoryTotal: 85899345920, memoryFree: 85899345920, utilizationCompute: null, utilizationMemory: null, temperatureC: 40, powerW: null },
      ],
    });
    expect(gpuUtilization(lib)).toEqual({
      gpu_stats: {
        '0': { id: 'cuda:0', name: 'Fake H100', memory_total: 85899345920, memory_free: 42949672960, utilization_compute: 87, utilization_memory: 41, temperature: 66, power_usage: 312.5 },
        '1': { id: 'cuda:1', name: 'Fake L4', memory_total: 85899345920, memory_free: 85899345920, utilization_compute: null, utilization_memory: null, temperature: 40, power_usage: null },
      },
    });
  });

  it.skipIf(!hasCc)('an NVML that fails to initialise, or lacks entry points, gives the reason and no stats', () => {
    const failing = compile('failing-nvml', FAILING_NVML);
    expect(gpuStats(failing)).toEqual({ available: false, reason: 'nvmlInit_v2 failed: Driver/library version mismatch (18)', gpus: [] });
    const partial = compile('partial-nvml', 'int nvmlInit_v2(void) { return 0; }\n');
    const s = gpuStats(partial);
    expect(s.available).toBe(false);
    expect(s.reason).toBe(`${partial} lacks NVML entry points: nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetUtilizationRates, nvmlDeviceGetMemoryInfo, nvmlDeviceGetTemperature, nvmlDeviceGetPowerUsage, nvmlDeviceGetName`);
    expect(gpuUtilization(partial)).toEqual({ gpu_stats: {}, gpu_stats_unavailable: s.reason });
  });

  it('gpuStats refuses a library that is not a string', () => {
    expect(() => gpuStats(42 as never)).toThrow(/library must be a string/);
  });
});
