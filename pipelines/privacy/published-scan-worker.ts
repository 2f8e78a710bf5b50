/**
 * Worker-thread entry for the publish stage's privacy scan (see published-scan.ts): opens the three zones as local
 * directories, runs openPublishedScan, posts the result, then answers checks of content not yet written. Logs go
 * to the main thread's log as messages (ids and counts only, as everywhere).
 */
import { parentPort } from 'node:worker_threads';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { Log, LogFields } from '../log.ts';
import { openPublishedScan, type FromScanWorker, type PublishedScan, type ToScanWorker } from './published-scan.ts';

const port = parentPort!;
const post = (msg: FromScanWorker) => port.postMessage(msg);
const emit = (level: keyof Log) => (message: string, fields?: LogFields) => post({ type: 'log', level, message, fields });
const log: Log = { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };

let opened: Promise<PublishedScan> | null = null;

port.on('message', (msg: ToScanWorker) => {
  if (msg.type === 'start') {
    const { outputs, curated, secure } = msg.roots;
    opened = openPublishedScan({ outputs: new LocalObjectStore(outputs), curated: new LocalObjectStore(curated), secure: new LocalObjectStore(secure) }, msg.req, log);
    opened.then((s) => post({ type: 'result', result: s.result }), (err: Error) => post({ type: 'error', message: err.message }));
    return;
  }
  if (!opened) {
    post({ type: 'error', message: 'privacy scan worker: content to check before the scan was started' });
    return;
  }
  opened.then(
    (s) => post({ type: 'content', id: msg.id, findings: s.scanContent(msg.items) }),
    (err: Error) => post({ type: 'error', message: err.message }),
  );
});
