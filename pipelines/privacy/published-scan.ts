/**
 * The publish stage's privacy scan as a job that runs beside the stage's other work.
 *
 * Started when the publish stage starts, the job builds its identifier index from the secure person records,
 * takes the configuration vocabulary (with the run's localities from the curated families table) and scans the
 * curated tables for the as-at date (final once stratify is done). When asked for its result it scans the outputs
 * zone as it is then (everything the earlier publish steps wrote), and afterwards checks content not yet written
 * (the audit report itself) with the same index and vocabulary.
 *
 * Locally the job runs in a worker thread (published-scan-worker.ts), so the scan uses the second core while the
 * main thread builds target lists, Start Well and the audit; in a Lambda, or with stores that are not local
 * directories, it runs in-process, starting when its result is asked for. Both run PublishedScanRun: the same code,
 * the same result.
 */
import { Worker } from 'node:worker_threads';
import { LocalObjectStore } from '../io/local-object-store.ts';
import { scratchOf, type ObjectStore } from '../io/object-store.ts';
import { iterateParquet } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import type { Log, LogFields } from '../log.ts';
import type { IdentifierLookup } from './identifier-lookup.ts';
import { loadIdentifierIndex, type IdentifierIndex } from './identifiers.ts';
import { publishedObjects, ScanCollector, type Finding, type ScanResult, type SettledParquet } from './scan.ts';
import { configurationVocabulary } from './vocabulary.ts';

export interface PublishedScanStores {
  outputs: ObjectStore;
  curated: ObjectStore;
  secure: ObjectStore;
}

export interface PublishedScanRequest {
  asAt: string;
  /** Objects under this key prefix (outputs zone, or the staged set) are not scanned (e.g. the audit report, checked in memory before it is written). */
  excludeOutputsPrefix?: string;
  /**
   * The run's staging prefix in the secure zone: its staged set is scanned in place of the published folder
   * (the publish stage scans what it is about to release). Absent: the published folder (`locality privacy-scan`).
   */
  stagedPrefix?: string;
}

/** Content not yet written, checked as the object it will become. */
export interface PendingContent {
  zone: string;
  key: string;
  content: string;
}

/** The run's locality names (from the curated families table), exempt from single-name matching like the rest of the configuration. */
async function runLocalities(curated: ObjectStore, asAt: string): Promise<string[]> {
  const key = keys.curated('families', asAt);
  if (!(await curated.exists(key))) return [];
  const out: string[] = [];
  for await (const batch of iterateParquet(
    curated,
    key,
    'SELECT DISTINCT locality FROM {{file}} WHERE locality IS NOT NULL ORDER BY locality',
  )) {
    for (const r of batch) if (typeof r.locality === 'string') out.push(r.locality);
  }
  return out;
}

/**
 * What a sharded publish's merge gives the scan instead of building it (pipelines/stages/publish-shards.ts): the
 * plan's identifier index and vocabulary, and the curated objects the plan listed in the scan's order, each with its
 * result from the shards (their hash parts merged), or null where the merge scans it itself (a file a shard handed
 * back, or not Parquet).
 */
export interface PreparedScan {
  ix: IdentifierIndex;
  /** The index looked up on disk (`ix` is then `lookup.ix`); the scan closes it when it closes. */
  lookup?: IdentifierLookup;
  vocabulary: string[];
  curated: Array<{ key: string; settled: SettledParquet | null }>;
}

/** The run's vocabulary exempt from single-name matching: the configuration's and the run's localities. */
export async function scanVocabulary(curated: ObjectStore, asAt: string): Promise<string[]> {
  return configurationVocabulary(await runLocalities(curated, asAt));
}

/** The scan itself, in this thread: curated tables first, then the outputs zone, then content not yet written. */
export class PublishedScan {
  private readonly collector: ScanCollector;
  private readonly exclude: (zone: string, key: string) => boolean;

  private constructor(
    private readonly stores: PublishedScanStores,
    private readonly req: PublishedScanRequest,
    private readonly ix: IdentifierIndex,
    private readonly vocabulary: string[],
    log?: Log,
    private readonly lookup?: IdentifierLookup,
  ) {
    this.collector = new ScanCollector(ix, log, vocabulary, {
      scratch: scratchOf(stores.secure),
      ...(lookup ? { lookup } : {}),
    });
    const prefix = req.excludeOutputsPrefix;
    this.exclude = (zone, key) => !!prefix && (zone === 'outputs' || zone === 'staged') && key.startsWith(prefix);
  }

  static async open(stores: PublishedScanStores, req: PublishedScanRequest, log?: Log): Promise<PublishedScan> {
    const ix = await loadIdentifierIndex(stores.secure, req.asAt);
    return new PublishedScan(stores, req, ix, await scanVocabulary(stores.curated, req.asAt), log);
  }

  /** A scan with the index and vocabulary given (a publish merge: the plan's), its curated tables not yet counted. */
  static withIndex(
    stores: PublishedScanStores,
    req: PublishedScanRequest,
    prepared: Pick<PreparedScan, 'ix' | 'vocabulary' | 'lookup'>,
    log?: Log,
  ): PublishedScan {
    return new PublishedScan(stores, req, prepared.ix, prepared.vocabulary, log, prepared.lookup);
  }

  /**
   * Count the curated objects as scanZone('curated') would, in the order given: a settled file from its result (its
   * findings listed with the quota carried from file to file, as scanned here), any other scanned here.
   */
  async replayCurated(curated: PreparedScan['curated'], stop: () => boolean = () => false): Promise<void> {
    if (this.released) throw new Error('privacy scan: already finished');
    for (const c of curated) {
      if (stop()) return;
      const id = `curated/${c.key}`;
      if (this.scanned.has(id)) continue;
      this.scanned.add(id);
      if (c.settled) {
        await this.collector.prepareRecordIds(c.settled.hitUnits.flatMap((u) => u.hits));
        this.collector.addSettledParquet('curated', c.key, c.settled);
      } else await this.collector.scanObject({ zone: 'curated', store: this.stores.curated, key: c.key });
    }
  }

  private readonly scanned = new Set<string>();

  /**
   * 'curated': scan the curated tables published for the as-at date. 'outputs': scan the outputs zone as it is now,
   * and any curated object not scanned yet (publish steps write outputs only, but a scan that vouches for
   * everything published must not rely on it). Each object is scanned once; `stop` ends the scan between objects.
   */
  async scanZone(zone: 'curated' | 'outputs', stop: () => boolean = () => false): Promise<void> {
    if (this.released) throw new Error('privacy scan: already finished');
    const staged = this.req.stagedPrefix ? { store: this.stores.secure, prefix: this.req.stagedPrefix } : undefined;
    for (const t of await publishedObjects(this.stores, this.req.asAt, this.exclude, staged)) {
      if (stop()) return;
      const id = `${t.zone}/${t.key}`;
      if ((zone === 'curated' && t.zone !== 'curated') || this.scanned.has(id)) continue;
      this.scanned.add(id);
      await this.collector.scanObject(t);
    }
  }

  private released = false;

  /** Release the scan's DuckDB and its temp files (idempotent). */
  async release(): Promise<void> {
    this.released = true;
    await this.collector.close();
  }

  /** The result (files scanned in both zones, findings). Releases the scan's DuckDB. */
  async result(): Promise<ScanResult> {
    await this.release();
    return this.collector.result(this.req.asAt);
  }

  /** The findings in content not yet written (a fresh collector each call: nothing carries over). */
  async scanContent(items: PendingContent[]): Promise<Finding[]> {
    const collector = new ScanCollector(
      this.ix,
      undefined,
      this.vocabulary,
      this.lookup ? { lookup: this.lookup } : {},
    );
    for (const it of items) await collector.scanContent(it.zone, it.key, it.content);
    return collector.result(this.req.asAt).findings;
  }

  /** Close the index looked up on disk, if any (after the last scanContent). */
  async closeIndex(): Promise<void> {
    await this.lookup?.close();
  }

  /** Both zones at once: what `locality privacy-scan` does. */
  static async run(
    stores: PublishedScanStores,
    req: PublishedScanRequest,
    log?: Log,
  ): Promise<{ scan: PublishedScan; result: ScanResult }> {
    const scan = await PublishedScan.open(stores, req, log);
    try {
      await scan.scanZone('curated');
      await scan.scanZone('outputs');
      return { scan, result: await scan.result() };
    } finally {
      await scan.release();
    }
  }
}

/**
 * The scan as the publish stage runs it, in whichever thread: opened and the curated tables scanned at once, the
 * outputs zone and the result when asked, content checks after that; close stops it between objects and releases
 * DuckDB and its temp files (they hold secure values) whether or not the scan finished.
 */
export class PublishedScanRun {
  private stopped = false;
  private readonly opened: Promise<PublishedScan>;
  private finished?: Promise<ScanResult>;

  /** `prepare`: the plan's index and the shards' curated results (a publish merge); absent: built and scanned here. */
  constructor(
    stores: PublishedScanStores,
    req: PublishedScanRequest,
    log?: Log,
    prepare?: () => Promise<PreparedScan>,
  ) {
    this.opened = (async () => {
      if (prepare) {
        const prepared = await prepare();
        const scan = PublishedScan.withIndex(stores, req, prepared, log);
        try {
          await scan.replayCurated(prepared.curated, () => this.stopped);
        } catch (err) {
          await scan.release();
          await scan.closeIndex();
          throw err;
        }
        return scan;
      }
      const scan = await PublishedScan.open(stores, req, log);
      await scan.scanZone('curated', () => this.stopped);
      return scan;
    })();
    this.opened.catch(() => {}); // surfaced by result() and scanContent()
  }

  result(): Promise<ScanResult> {
    return (this.finished ??= this.opened.then(async (scan) => {
      await scan.scanZone('outputs', () => this.stopped);
      return scan.result();
    }));
  }

  async scanContent(items: PendingContent[]): Promise<Finding[]> {
    return (await this.opened).scanContent(items);
  }

  async close(): Promise<void> {
    this.stopped = true;
    const scan = await this.opened.catch(() => null);
    await this.finished?.catch(() => undefined);
    await scan?.release();
    await scan?.closeIndex();
  }
}

/** A scan under way: its result, then checks of content not yet written, then close. */
export interface PublishedScanJob {
  /** 'worker' when the scan runs in a worker thread beside the caller. */
  readonly runsIn: 'worker' | 'in-process';
  /** Scans the outputs zone as it is now (call once everything else is published), then gives the whole result. */
  result(): Promise<ScanResult>;
  scanContent(items: PendingContent[]): Promise<Finding[]>;
  close(): Promise<void>;
}

/** Messages between the job and its worker (published-scan-worker.ts). */
export type ToScanWorker =
  | { type: 'start'; roots: Record<keyof PublishedScanStores, string>; scratch?: string; req: PublishedScanRequest }
  | { type: 'outputs' }
  | { type: 'content'; id: number; items: PendingContent[] }
  | { type: 'close' };
export type FromScanWorker =
  | { type: 'log'; level: keyof Log; message: string; fields?: LogFields }
  | { type: 'result'; result: ScanResult }
  | { type: 'content'; id: number; findings: Finding[] }
  | { type: 'error'; message: string };

function localRoots(
  stores: PublishedScanStores,
): (Record<keyof PublishedScanStores, string> & { scratch?: string }) | null {
  const { outputs, curated, secure } = stores;
  if (!(
    outputs instanceof LocalObjectStore &&
    curated instanceof LocalObjectStore &&
    secure instanceof LocalObjectStore
  ))
    return null;
  return {
    outputs: outputs.root,
    curated: curated.root,
    secure: secure.root,
    ...(secure.scratch ? { scratch: secure.scratch } : {}),
  };
}

/**
 * In-process (a Lambda): the scan starts when its result is asked for, after the other publish steps, not beside them:
 * on one thread it would gain nothing, and its DuckDB (2 GB) with theirs could outgrow the function's memory.
 */
function inProcessJob(
  stores: PublishedScanStores,
  req: PublishedScanRequest,
  log?: Log,
  prepare?: () => Promise<PreparedScan>,
): PublishedScanJob {
  let run: PublishedScanRun | undefined;
  const started = () => (run ??= new PublishedScanRun(stores, req, log, prepare));
  return {
    runsIn: 'in-process',
    result: () => started().result(),
    scanContent: (items) => started().scanContent(items),
    close: async () => run?.close(),
  };
}

/** How long a closing worker may take to stop and release its files before it is terminated. */
const WORKER_CLOSE_MS = 60_000;

function workerJob(
  roots: Record<keyof PublishedScanStores, string> & { scratch?: string },
  req: PublishedScanRequest,
  log?: Log,
): PublishedScanJob {
  const worker = new Worker(new URL('./published-scan-worker.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
  let failure: Error | null = null;
  let settleResult!: { resolve: (r: ScanResult) => void; reject: (e: Error) => void };
  const result = new Promise<ScanResult>((resolve, reject) => (settleResult = { resolve, reject }));
  result.catch(() => {}); // surfaced by result()
  const pending = new Map<number, { resolve: (f: Finding[]) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const fail = (err: Error) => {
    failure ??= err;
    settleResult.reject(failure);
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('message', (msg: FromScanWorker) => {
    if (msg.type === 'log') log?.[msg.level](msg.message, msg.fields);
    else if (msg.type === 'result') settleResult.resolve(msg.result);
    else if (msg.type === 'content') {
      pending.get(msg.id)?.resolve(msg.findings);
      pending.delete(msg.id);
    } else fail(new Error(msg.message));
  });
  worker.on('error', (err) => fail(new Error(`privacy scan worker failed: ${err.message}`)));
  worker.on('exit', (code) => fail(new Error(`privacy scan worker stopped (exit code ${code})`)));
  const { scratch, ...zoneRoots } = roots;
  worker.postMessage({ type: 'start', roots: zoneRoots, ...(scratch ? { scratch } : {}), req } satisfies ToScanWorker);
  let asked = false;
  return {
    runsIn: 'worker',
    result: () => {
      if (!asked && !failure) worker.postMessage({ type: 'outputs' } satisfies ToScanWorker);
      asked = true;
      return result;
    },
    scanContent(items) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<Finding[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'content', id, items } satisfies ToScanWorker);
      });
    },
    async close() {
      failure ??= new Error('privacy scan job closed');
      // Ask the worker to stop and release its DuckDB and temp files (they hold secure values): terminate() would
      // skip its cleanup. Terminate only if it does not stop in time.
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToScanWorker);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), WORKER_CLOSE_MS)));
      if ((await Promise.race([exited, late])) === 'late') await worker.terminate();
      clearTimeout(timer);
    },
  };
}

/**
 * Start the privacy scan of what is published for the as-at date; it runs while the caller goes on. A worker thread
 * is used only over local directories and when the caller allows one (`worker`: the runtime's workerThreads; never in
 * a Lambda, whose bundle has no TypeScript loader).
 */
export function startPublishedScan(
  stores: PublishedScanStores,
  req: PublishedScanRequest,
  log: Log | undefined,
  opts: { worker: boolean; prepare?: () => Promise<PreparedScan> },
): PublishedScanJob {
  // a publish merge: the curated tables are scanned already (by the shards), what is left is small: in-process
  if (opts.prepare) return inProcessJob(stores, req, log, opts.prepare);
  const roots = localRoots(stores);
  const useWorker = opts.worker && roots !== null;
  return useWorker ? workerJob(roots, req, log) : inProcessJob(stores, req, log);
}
