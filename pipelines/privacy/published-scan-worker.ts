/**
 * Worker-thread entry for the publish stage's privacy scan (see published-scan.ts): opens the three zones as local
 * directories and scans the curated tables at once; on 'outputs' scans the outputs zone and posts the result; then
 * answers checks of content not yet written. Logs go to the main thread's log as messages (ids and counts only).
 */
import { parentPort } from 'node:worker_threads';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { Log, LogFields } from '../log.ts';
import { PublishedScan, type FromScanWorker, type ToScanWorker } from './published-scan.ts';

const port = parentPort!;
const post = (msg: FromScanWorker) => port.postMessage(msg);
const emit = (level: keyof Log) => (message: string, fields?: LogFields) => post({ type: 'log', level, message, fields });
const log: Log = { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };

let opened: Promise<PublishedScan> | null = null;
const fail = (err: Error) => post({ type: 'error', message: err.message });

port.on('message', (msg: ToScanWorker) => {
  if (msg.type === 'start') {
    const { outputs, curated, secure } = msg.roots;
    opened = (async () => {
      const scan = await PublishedScan.open({ outputs: new LocalObjectStore(outputs), curated: new LocalObjectStore(curated), secure: new LocalObjectStore(secure) }, msg.req, log);
      await scan.scanZone('curated');
      return scan;
    })();
    opened.catch(fail);
    return;
  }
  if (!opened) {
    fail(new Error('privacy scan worker: asked before the scan was started'));
    return;
  }
  if (msg.type === 'outputs') {
    opened.then(async (scan) => {
      await scan.scanZone('outputs');
      post({ type: 'result', result: await scan.result() });
    }).catch(fail);
    return;
  }
  opened.then((scan) => post({ type: 'content', id: msg.id, findings: scan.scanContent(msg.items) }), () => {});
});
