import { describe, expect, it } from 'vitest';
import { lambdaRuntime, localRuntime } from '../../pipelines/runtime.ts';

describe('runtime profiles', () => {
  it('a Lambda: in-process, tables one at a time, /tmp/locality-scratch, its configured memory and function as principal', () => {
    expect(
      lambdaRuntime({ AWS_LAMBDA_FUNCTION_NAME: 'locality-match', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' }),
    ).toEqual({
      kind: 'lambda',
      workerThreads: false,
      maxWorkers: 0,
      readAhead: false,
      scratchDir: '/tmp/locality-scratch',
      memoryMiB: 3008,
      principal: 'aws-lambda:locality-match',
    });
    expect(lambdaRuntime({})).toMatchObject({ memoryMiB: 1024 });
    expect(lambdaRuntime({}).principal).toBeUndefined();
  });

  it('this machine: worker threads on up to 4 cores, tables read ahead; any field can be set', () => {
    const local = localRuntime();
    expect(local).toMatchObject({ kind: 'local', workerThreads: true, readAhead: true });
    expect(local.maxWorkers).toBeGreaterThanOrEqual(1);
    expect(local.maxWorkers).toBeLessThanOrEqual(4);
    expect(local.memoryMiB).toBeGreaterThan(0);
    expect(localRuntime({ workerThreads: false, scratchDir: '/scratch' })).toMatchObject({
      workerThreads: false,
      scratchDir: '/scratch',
    });
  });
});
