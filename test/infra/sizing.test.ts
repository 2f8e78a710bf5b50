/** Lambda sizing is configuration: defaults per task in the template, overridden by CDK context, validated. */
import { readFile } from 'node:fs/promises';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { APP_CONTEXT, LocalityPipelineStack, TASKS } from '../../infra/locality-stack.ts';
import { DEFAULT_SIZING, resolveSizing } from '../../infra/sizing.ts';

interface FunctionProps {
  MemorySize: number;
  EphemeralStorage: { Size: number };
  Timeout: number;
  Environment: { Variables: Record<string, string> };
}

function functionsOf(context: Record<string, unknown> = {}): Record<string, FunctionProps> {
  const app = new App({ postCliContext: APP_CONTEXT, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const t = Template.fromStack(new LocalityPipelineStack(app, 'LocalityPipeline', { codeVersion: 'git:test' }));
  const out: Record<string, FunctionProps> = {};
  for (const [id, r] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
    const task = TASKS.find((k) => new RegExp(`^Fn${k.replaceAll('-', '')}Function[0-9A-F]{8}$`).test(id));
    if (task) out[task] = r.Properties;
  }
  return out;
}

describe('Lambda sizing', () => {
  it('every task gets its default memory, /tmp and timeout', () => {
    const fns = functionsOf();
    expect(Object.keys(fns).sort()).toEqual([...TASKS].sort());
    for (const task of TASKS) {
      const want = DEFAULT_SIZING[task];
      expect(fns[task], task).toMatchObject({
        MemorySize: want.memoryMiB,
        EphemeralStorage: { Size: want.ephemeralStorageMiB },
        Timeout: want.timeoutMinutes * 60,
      });
    }
    // the stages that download tables and spill DuckDB get more than Lambda's 512 MB default /tmp
    for (const task of ['standardise', 'families', 'publish'] as const)
      expect(fns[task]!.EphemeralStorage.Size, task).toBeGreaterThanOrEqual(2048);
  });

  it("a population stage's function gets a JavaScript heap sized to its memory (V8's default is ~4 GiB)", () => {
    const fns = functionsOf({ sizing: { families: { memoryMiB: 10240 } } });
    const heapOf = (task: string) =>
      /--max-old-space-size=(\d+)/.exec(fns[task]!.Environment.Variables.NODE_OPTIONS ?? '')?.[1];
    expect(heapOf('families')).toBe(String(Math.floor(10240 * 0.75)));
    expect(heapOf('match')).toBe(String(Math.floor(DEFAULT_SIZING.match.memoryMiB * 0.75)));
    for (const task of TASKS) {
      const memory = fns[task]!.MemorySize;
      expect(heapOf(task), task).toBe(memory * 0.75 > 4096 ? String(Math.floor(memory * 0.75)) : undefined);
      expect(fns[task]!.Environment.Variables.NODE_OPTIONS, task).toContain('--enable-source-maps');
    }
  });

  it('the context key `sizing` overrides single fields (JSON text or an object); the rest keep their defaults', () => {
    const fns = functionsOf({ sizing: '{"match":{"memoryMiB":10240},"publish":{"ephemeralStorageMiB":10240}}' });
    expect(fns.match).toMatchObject({
      MemorySize: 10240,
      EphemeralStorage: { Size: DEFAULT_SIZING.match.ephemeralStorageMiB },
    });
    expect(fns.publish).toMatchObject({
      MemorySize: DEFAULT_SIZING.publish.memoryMiB,
      EphemeralStorage: { Size: 10240 },
    });
    expect(resolveSizing({ stratify: { timeoutMinutes: 3 } }).stratify).toEqual({
      ...DEFAULT_SIZING.stratify,
      timeoutMinutes: 3,
    });
  });

  it('a bad sizing fails synthesis naming the task and field', () => {
    expect(() => resolveSizing({ match: { memoryMiB: 20_000 } })).toThrow('context "sizing": match.memoryMiB');
    expect(() => resolveSizing({ publish: { ephemeralStorageMiB: 100 } })).toThrow('publish.ephemeralStorageMiB');
    expect(() => resolveSizing({ mtach: { memoryMiB: 1024 } })).toThrow('context "sizing"');
    expect(() => resolveSizing('{not json')).toThrow('context "sizing": not JSON');
    expect(() => functionsOf({ sizing: { families: { timeoutMinutes: 30 } } })).toThrow('families.timeoutMinutes');
  });
});

describe('the README sizing table', () => {
  it('states the configured memory, /tmp and timeout of every sized task (README and infra/sizing.ts agree)', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const mb = (s: string) => Number(s.replace(/[^0-9]/g, ''));
    const rows = readme
      .split('\n')
      .filter((l) => /^\| (validate|standardise|match|families|stratify|publish)\b/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => r[1]!.split(' ')[0])).toEqual([
      'validate',
      'standardise',
      'match',
      'families',
      'stratify',
      'publish',
    ]);
    for (const r of rows) {
      const task = r[1]!.split(' ')[0] as keyof typeof DEFAULT_SIZING;
      expect({ memory: mb(r[2]!), tmp: mb(r[3]!), timeout: mb(r[4]!) }, task).toEqual({
        memory: DEFAULT_SIZING[task].memoryMiB,
        tmp: DEFAULT_SIZING[task].ephemeralStorageMiB,
        timeout: DEFAULT_SIZING[task].timeoutMinutes,
      });
    }
  });
});
