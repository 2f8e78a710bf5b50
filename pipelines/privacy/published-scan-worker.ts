/**
 * Worker-thread entry for the publish stage's privacy scan (see published-scan.ts): opens the three zones as local
 * directories and runs PublishedScanRun: the curated tables at once; on 'outputs' the outputs zone, then the result;
 * then checks of content not yet written; on 'close' it stops, releases its files and ends. Logs go to the main
 * thread's log as messages (ids and counts only).
 */
import { parentPort } from 'node:worker_threads';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { Log, LogFields } from '../log.ts';
import { PublishedScanRun, type FromScanWorker, type ToScanWorker } from './published-scan.ts';

const port = parentPort!;
const post = (msg: FromScanWorker) => port.postMessage(msg);
const emit = (level: keyof Log) => (message: string, fields?: LogFields) =>
  post({ type: 'log', level, message, fields });
const log: Log = { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };

let run: PublishedScanRun | null = null;
const fail = (err: Error) => post({ type: 'error', message: err.message });

port.on('message', (msg: ToScanWorker) => {
  if (msg.type === 'start') {
    const { outputs, curated, secure } = msg.roots;
    const opts = msg.scratch ? { scratch: msg.scratch } : {};
    run = new PublishedScanRun(
      {
        outputs: new LocalObjectStore(outputs, opts),
        curated: new LocalObjectStore(curated, opts),
        secure: new LocalObjectStore(secure, opts),
      },
      msg.req,
      log,
    );
    // a scan that cannot open fails at once (the caller learns before it asks for the result)
    run.scanContent([]).catch(fail);
    return;
  }
  if (msg.type === 'close') {
    // stop between objects, release DuckDB and temp files, then let the thread end
    void (run?.close() ?? Promise.resolve()).finally(() => port.close());
    return;
  }
  if (!run) {
    fail(new Error('privacy scan worker: asked before the scan was started'));
    return;
  }
  if (msg.type === 'outputs') {
    run.result().then((result) => post({ type: 'result', result }), fail);
    return;
  }
  run.scanContent(msg.items).then(
    (findings) => post({ type: 'content', id: msg.id, findings }),
    () => {},
  );
});
