/**
 * Worker-thread entry of the run's stage pool (stage-pool.ts): runs any sharded stage's shard phase. It receives the
 * run's directories and runtime once ("init"), then Task events; each runs through invokeStage exactly as the
 * runner (and a Lambda) runs it, with this thread's own stores over the same directories, so the stage records,
 * retries and errors behave the same. The stage module is loaded here, by name, from the registry.
 */
import { parentPort, threadId } from 'node:worker_threads';
import type { Log, LogFields } from '../log.ts';
import { noProgress } from '../progress.ts';
import type { RuntimeProfile } from '../runtime.ts';
import { invokeStage, type StageDeps } from '../stages/invoke.ts';
import { join, resolve } from 'node:path';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { Zone } from '../layout.ts';

export interface StageWorkerInit {
  landing: string;
  out: string;
  scratch: string;
  runtime: RuntimeProfile;
}

type Msg = { type: 'init'; init: StageWorkerInit } | { type: 'task'; id: number; task: string; event: unknown };

let deps: StageDeps | undefined;

const forward =
  (level: keyof Log) =>
  (message: string, fields?: LogFields): void =>
    parentPort!.postMessage({ type: 'log', level, message, fields: { ...fields, thread: threadId } });
const log: Log = { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };

/** The zones as the runner opens them (runner.ts localStores), with the run's scratch folder. */
function storesOf(init: StageWorkerInit): Record<Zone, LocalObjectStore> {
  const o = resolve(init.out);
  const opts = { scratch: init.scratch };
  return {
    landing: new LocalObjectStore(resolve(init.landing)),
    secure: new LocalObjectStore(join(o, 'secure'), opts),
    curated: new LocalObjectStore(join(o, 'curated'), opts),
    outputs: new LocalObjectStore(join(o, 'outputs'), opts),
  };
}

function depsOf(init: StageWorkerInit): StageDeps {
  const stores = storesOf(init);
  return {
    stores,
    log,
    progress: noProgress,
    // a shard does not start threads of its own: the pool is the run's parallelism
    runtime: { ...init.runtime, workerThreads: false, maxWorkers: 0 },
  };
}

parentPort!.on('message', (msg: Msg) => {
  if (msg.type === 'init') {
    deps = depsOf(msg.init);
    return;
  }
  void (async () => {
    try {
      if (!deps) throw new Error('stage worker: task before init');
      const result = await invokeStage(msg.task, msg.event, deps);
      parentPort!.postMessage({ type: 'done', id: msg.id, result });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      parentPort!.postMessage({ type: 'done', id: msg.id, error: { name: e.name, message: e.message } });
    }
  })();
});
