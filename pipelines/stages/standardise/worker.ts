/**
 * Worker-thread entry: runs standardise's events pipeline (events.ts, the same function the stage
 * runs in-process) over local directory stores, and posts its result back; progress goes back in batches.
 * Started by events-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import { standardiseEvents } from './events.ts';
import type { EventsWorkerInput, EventsWorkerMessage } from './events-thread.ts';

const input = workerData as EventsWorkerInput;
const scratchOpts = input.scratch ? { scratch: input.scratch } : {};
const post = (m: EventsWorkerMessage) => parentPort!.postMessage(m);
let pending = 0;
try {
  const result = await standardiseEvents(
    new LocalObjectStore(input.secureRoot, scratchOpts),
    new LocalObjectStore(input.curatedRoot, scratchOpts),
    input.asAt,
    new Map(input.files),
    (n) => {
      pending += n;
      if (pending >= 10_000) {
        post({ type: 'rows', n: pending });
        pending = 0;
      }
    },
    new Map(input.refs),
  );
  if (pending) post({ type: 'rows', n: pending });
  post({ type: 'done', result });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
