/**
 * validate: read each selected landing extract of one feed, check every row against the feed's zod contract,
 * and carry good rows forward to the secure zone, bad rows to the quarantine, with counts that reconcile.
 *
 *  - `discoverFeeds(ctx)` lists the (source, feed) pairs with an extract dated on or before the as-at date
 *    (unknown feeds too, so that validate rejects their files visibly).
 *  - `validateStage(ctx, { source, feed })` picks the extracts (snapshot: latest on or before as-at; events:
 *    all on or before as-at) and validates each file, streaming, in bounded memory:
 *      * a file that cannot be read as its feed (unknown feed, misplaced, not .csv, empty, not UTF-8, NUL bytes,
 *        unterminated quote, a required column missing, a duplicated column) is REJECTED whole: its counts entry
 *        has status "rejected" and the error naming the file and the problem; nothing of it is carried forward;
 *        the run goes on with other files (config validate.onRejectedFile = "fail" makes the stage fail instead);
 *      * a bad row goes to the quarantine with file, line, field, reason, detail and the full raw row;
 *      * exact duplicate rows (same cells as an earlier row of the same file) are quarantined as `duplicate`
 *        (default) or kept and counted (validate.exactDuplicates = "keep");
 *      * per file: rows = accepted + quarantined, exactly; sha256 and bytes of every input file.
 *  Outputs (secure zone, clear data):
 *      as_at=D/validated/<source>/<feed>/dt=<date>/<name>.parquet   accepted rows: _line + every feed column (VARCHAR) + _row_hash
 *      as_at=D/quarantine/<source>/<feed>/dt=<date>/<name>.jsonl    one JSON object per quarantined row
 *      as_at=D/validated/<source>/<feed>/_counts.json               the per-file counts (also returned)
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { z } from 'zod';
import { findFeed } from '../feeds/catalogue.ts';
import { checkRow, type FeedContract } from '../feeds/contract.ts';
import { isSnapshot, type ExtractFile } from '../feeds/extracts.ts';
import {
  classifyLanding,
  feedsToValidate,
  IGNORE_REASONS,
  type IgnoreReason,
  type LandingEntry,
} from '../feeds/landing.ts';
import type { QuarantineReason } from '../feeds/fields.ts';
import { contractFor } from '../feeds/index.ts';
import { CsvFileError, csvCell, readCsv, type CsvReadStats, type CsvRecord } from '../io/csv.ts';
import { inventoryOf, scratchOf, type ObjectStore } from '../io/object-store.ts';
import { ensureDir } from '../io/scratch.ts';
import { openScratchDuckDb } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './stage.ts';

/** DuckDB buffer memory for one file's duplicate detection and Parquet write. */
const VALIDATE_DUCKDB_MEMORY = '256MB';

export const validateInputSchema = z.object({ source: z.string().min(1), feed: z.string().min(1) });
export type ValidateInput = z.infer<typeof validateInputSchema>;

export interface FileCounts {
  /** Landing key of the file. */
  key: string;
  extractDate: string;
  sha256: string;
  bytes: number;
  status: 'accepted' | 'rejected';
  /** For a rejected file: the reason code (feeds/landing.ts ENTRY_REJECT_REASONS, or FILE_REJECT_REASONS below). */
  reason?: string;
  /** For a rejected file: what is wrong, naming the file. */
  error?: string;
  /** Data rows read (header and blank lines excluded). Rejected files: their lines after the header (= rejectedRows). */
  rows: number;
  accepted: number;
  quarantined: number;
  /** A rejected file's rows (non-blank lines after the header, however the lines end); 0 for a file read. rows = accepted + quarantined + rejectedRows. */
  rejectedRows: number;
  quarantinedByReason: Partial<Record<QuarantineReason, number>>;
  blankLines: number;
  /** Exact duplicate rows kept (validate.exactDuplicates = "keep"); with "quarantine" they are in quarantinedByReason.duplicate. */
  duplicatesKept: number;
  /** Header columns not in the contract: read past, never carried forward. */
  ignoredColumns: string[];
  /** Optional contract columns absent from the header: read as blank. */
  missingOptionalColumns: string[];
  /** Secure-zone keys written for this file. */
  acceptedKey?: string;
  /**
   * Small files validated in a batch share one Parquet (acceptedKey, see batchKeyOf): this file's rows are those
   * whose `_file` column is this number. Absent: the Parquet at acceptedKey is this file's alone.
   */
  acceptedPart?: number;
  quarantineKey?: string;
}

export interface FeedCounts {
  /** The run that wrote these counts: standardise reads only counts of its own run. */
  runId: string;
  source: string;
  feed: string;
  asAt: string;
  kind: string;
  files: FileCounts[];
  /** Entries not read, with the reason (see feeds/landing.ts): dated after the as-at date, older snapshots, markers... */
  ignored: Array<{ key: string; why: IgnoreReason | string; detail?: string }>;
}

export interface QuarantineEntry {
  file: string;
  line: number;
  field: string;
  reason: QuarantineReason;
  detail: string;
  /** Every problem found on the row (the first is `reason`). */
  problems: Array<{ field: string; reason: QuarantineReason; detail: string }>;
  /** The row's cells by header column (clear data: secure zone only). */
  row: Record<string, string>;
  /** The record's text as in the file. */
  raw: string;
}

const validatedPrefix = keys.validated;
export const countsKey = keys.feedCounts;
export const acceptedKeyOf = (
  asAt: string,
  source: string,
  feed: string,
  f: Pick<ExtractFile, 'extractDate' | 'name'>,
) => keys.secure(asAt, `validated/${source}/${feed}/dt=${f.extractDate}/${f.name.replace(/\.csv$/i, '')}.parquet`);
/** The shared Parquet of the n-th batch of small files of a feed (validateBatch). */
export const batchKeyOf = (asAt: string, source: string, feed: string, n: number) =>
  keys.secure(asAt, `validated/${source}/${feed}/batches/batch-${String(n).padStart(5, '0')}.parquet`);
export const quarantineKeyOf = (
  asAt: string,
  source: string,
  feed: string,
  f: Pick<ExtractFile, 'extractDate' | 'name'>,
) => keys.quarantine(asAt, source, feed, `dt=${f.extractDate}/${f.name.replace(/\.csv$/i, '')}.jsonl`);

// ---- discovery ------------------------------------------------------------------------------------

/** The classified landing inventory for the as-at date (every entry: read, rejected or ignored). */
export async function landingEntries(ctx: Pick<StageContext, 'asAt' | 'stores'>, prefix = ''): Promise<LandingEntry[]> {
  return classifyLanding(await inventoryOf(ctx.stores.landing, prefix), ctx.asAt);
}

/** (source, feed) pairs with an entry read or rejected for the as-at date, sorted; unknown feeds included. */
export async function discoverFeeds(
  ctx: Pick<StageContext, 'asAt' | 'stores' | 'log'>,
): Promise<Array<{ source: string; feed: string }>> {
  const entries = await landingEntries(ctx);
  const outside = entries.filter((e) => e.feed === undefined);
  if (outside.length > 0)
    ctx.log.warn('landing entries outside <source>/<feed>/ are not read', { entries: outside.length });
  return feedsToValidate(entries);
}

// ---- the stage ------------------------------------------------------------------------------------

export async function validateStage(
  ctx: StageContext,
  input: ValidateInput,
): Promise<{ counts: Record<string, number>; source: string; feed: string; files: FileCounts[] }> {
  const { source, feed } = validateInputSchema.parse(input);
  await clearFeedOutputs(ctx, source, feed);
  const { entries, ignored } = await feedEntries(ctx, source, feed);
  const contract = contractFor(source, feed);
  const files: FileCounts[] = [];
  for (const e of entries)
    if (e.outcome === 'rejected') files.push(await rejected(ctx.stores.landing, e, e.reason!, e.detail!));
  const selected = entries.filter((e) => e.outcome === 'read');
  if (selected.length > 0 && contract) files.push(...(await validateExtracts(ctx, contract, selected)));
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const feedCounts: FeedCounts = {
    runId: ctx.runId,
    source,
    feed,
    asAt: ctx.asAt,
    kind: findFeed(source, feed)?.kind ?? 'unknown',
    files,
    ignored,
  };
  await ctx.stores.secure.put(countsKey(ctx.asAt, source, feed), `${JSON.stringify(feedCounts, null, 2)}\n`);
  const rejectedFiles = files.filter((f) => f.status === 'rejected');
  if (rejectedFiles.length > 0 && ctx.config.validate.onRejectedFile === 'fail') {
    throw new Error(
      `validate ${source}/${feed}: ${rejectedFiles.length} file(s) rejected: ${rejectedFiles.map((f) => f.error).join('; ')}`,
    );
  }
  return { counts: stageCounts(files, ignored), source, feed, files };
}

/** Idempotent: clears what an earlier run of this as-at date wrote for this feed (accepted rows and quarantine). */
async function clearFeedOutputs(ctx: StageContext, source: string, feed: string): Promise<void> {
  const secure = ctx.stores.secure;
  for (const prefix of [validatedPrefix(ctx.asAt, source, feed), keys.quarantine(ctx.asAt, source, feed, '')]) {
    for (const o of await secure.list(prefix)) await secure.delete(o.key);
  }
}

/** The feed's landing entries for the as-at date, and those not read with why (in IGNORE_REASONS order). */
async function feedEntries(
  ctx: StageContext,
  source: string,
  feed: string,
): Promise<{ entries: LandingEntry[]; ignored: FeedCounts['ignored'] }> {
  const entries = (await landingEntries(ctx, `${source}/${feed}/`)).filter(
    (e) => e.source === source && e.feed === feed,
  );
  const ignored: FeedCounts['ignored'] = [];
  for (const e of entries) if (e.outcome === 'ignored') ignored.push({ key: e.key, why: e.reason!, detail: e.detail! });
  ignored.sort((a, b) => IGNORE_REASONS.indexOf(a.why as IgnoreReason) - IGNORE_REASONS.indexOf(b.why as IgnoreReason));
  return { entries, ignored };
}

/** The extracts selected for reading, validated one large file or one batch of small files at a time. */
async function validateExtracts(
  ctx: StageContext,
  contract: FeedContract,
  selected: readonly LandingEntry[],
): Promise<FileCounts[]> {
  const files: FileCounts[] = [];
  ctx.progress.start(
    `validate ${contract.source}/${contract.feed}`,
    selected.reduce((a, f) => a + f.size, 0),
  );
  let done = 0;
  const extracts: ExtractFile[] = selected.map((e) => ({
    key: e.key,
    extractDate: e.extractDate,
    name: e.name,
    size: e.size,
  }));
  // many small files: a batch at a time (one DuckDB instance and a few statements for up to 2,000 files)
  let batchNo = 0;
  for (const part of batchesOf(extracts)) {
    const group = 'one' in part ? [part.one] : part.batch;
    const counted =
      'one' in part
        ? [await validateFile(ctx, contract, part.one, (b) => ctx.progress.update(done + b))]
        : await validateBatch(ctx, contract, part.batch, batchNo++, (b) => ctx.progress.update(done + b));
    files.push(...counted);
    logValidated(ctx, contract, group, counted);
    done += group.reduce((a, f) => a + f.size, 0);
  }
  ctx.progress.stop();
  return files;
}

/** The log lines for a file (or a batch of files) validated, and one per file rejected. */
function logValidated(
  ctx: StageContext,
  { source, feed }: FeedContract,
  group: readonly ExtractFile[],
  counted: readonly FileCounts[],
): void {
  for (const [i, counts] of counted.entries()) {
    const f = group[i]!;
    if (group.length === 1)
      ctx.log.info('file validated', {
        source,
        feed,
        extractDate: f.extractDate,
        status: counts.status,
        rows: counts.rows,
        accepted: counts.accepted,
        quarantined: counts.quarantined,
      });
    if (counts.status === 'rejected')
      ctx.log.warn('file rejected', { source, feed, extractDate: f.extractDate, reason: counts.reason ?? '' });
  }
  if (group.length > 1)
    ctx.log.info('files validated', {
      source,
      feed,
      files: group.length,
      rows: counted.reduce((a, c) => a + c.rows, 0),
      rejected: counted.filter((c) => c.status === 'rejected').length,
    });
}

/** The stage's counts: files, rows and their outcomes summed over the feed's files, quarantine by reason. */
function stageCounts(files: readonly FileCounts[], ignored: FeedCounts['ignored']): Record<string, number> {
  const sum = (k: 'rows' | 'accepted' | 'quarantined' | 'rejectedRows' | 'blankLines' | 'duplicatesKept') =>
    files.reduce((a, f) => a + f[k], 0);
  const counts: Record<string, number> = {
    files: files.length,
    filesRejected: files.filter((f) => f.status === 'rejected').length,
    filesIgnored: ignored.length,
    rows: sum('rows'),
    accepted: sum('accepted'),
    quarantined: sum('quarantined'),
    rejectedRows: sum('rejectedRows'),
    blankLines: sum('blankLines'),
    duplicatesKept: sum('duplicatesKept'),
  };
  for (const f of files)
    for (const [r, n] of Object.entries(f.quarantinedByReason))
      counts[`quarantined_${r}`] = (counts[`quarantined_${r}`] ?? 0) + (n ?? 0);
  return counts;
}

/** SHA-256 and the rows of a rejected file: its non-blank lines after the first, ending in LF, CRLF or a lone CR. */
async function hashAndCountLines(store: ObjectStore, key: string): Promise<{ sha256: string; rows: number }> {
  const h = createHash('sha256');
  let lines = 0;
  let inLine = false;
  let prevCr = false;
  for await (const chunk of await store.getStream(key)) {
    const b = chunk as Buffer;
    h.update(b);
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c === 0x0a || c === 0x0d) {
        if (inLine) lines++;
        inLine = false;
        prevCr = c === 0x0d;
      } else {
        if (!(prevCr && c === 0x0a)) inLine = true;
        prevCr = false;
      }
    }
  }
  if (inLine) lines++;
  return { sha256: h.digest('hex'), rows: Math.max(0, lines - 1) };
}

/** A rejected file's counts entry; only plain files are hashed and their rows counted (a link is never followed). */
async function rejected(
  landing: ObjectStore,
  e: Pick<LandingEntry, 'key' | 'size' | 'kind' | 'extractDate'>,
  reason: string,
  problem: string,
): Promise<FileCounts> {
  const { sha256, rows } = e.kind === 'file' ? await hashAndCountLines(landing, e.key) : { sha256: '', rows: 0 };
  return {
    key: e.key,
    extractDate: e.extractDate,
    sha256,
    bytes: e.size,
    status: 'rejected',
    reason,
    error: `${e.key}: ${problem}`,
    rows,
    accepted: 0,
    quarantined: 0,
    rejectedRows: rows,
    quarantinedByReason: {},
    blankLines: 0,
    duplicatesKept: 0,
    ignoredColumns: [],
    missingOptionalColumns: [],
  };
}

/** Reason codes of files rejected for what is inside them (the entry-level ones are in feeds/landing.ts). */
export const FILE_REJECT_REASONS = [
  'compressed',
  'no_header',
  'not_utf8',
  'binary',
  'bad_quoting',
  'cr_line_endings',
  'record_too_long',
  'duplicate_columns',
  'missing_columns',
] as const;
export type FileRejectReason = (typeof FILE_REJECT_REASONS)[number];

/** Thrown inside validateFile for a file-level problem (turned into a rejected FileCounts). */
class FileRejection extends Error {
  constructor(
    readonly reason: FileRejectReason,
    message: string,
  ) {
    super(message);
  }
}

function csvErrorReason(message: string): FileRejectReason {
  if (message.startsWith('not UTF-8')) return 'not_utf8';
  if (message.includes('NUL bytes')) return 'binary';
  if (message.startsWith('a record longer')) return 'record_too_long';
  if (message.startsWith('line ends are CR only')) return 'cr_line_endings';
  return 'bad_quoting';
}

async function firstBytes(store: ObjectStore, key: string, n: number): Promise<Buffer> {
  const stream = await store.getStream(key);
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      got += (chunk as Buffer).length;
      if (got >= n) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** A compressed or archive file sent with a .csv name, by its magic bytes. */
function sniffBinary(head: Buffer): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'a gzip-compressed file named .csv';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])))
    return 'a zip archive (or .xlsx workbook) named .csv';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'a bzip2-compressed file named .csv';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return 'an xz-compressed file named .csv';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'a zstd-compressed file named .csv';
  return undefined;
}

async function writeAll(ws: WriteStream, s: string): Promise<void> {
  if (s.length === 0) return;
  if (!ws.write(s))
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        ws.off('error', onError);
        resolve();
      };
      const onError = (e: Error) => {
        ws.off('drain', onDrain);
        reject(e);
      };
      ws.once('drain', onDrain);
      ws.once('error', onError);
    });
}

async function closeStream(ws: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Where a file's scan puts its rows: accepted rows as CSV lines (`_line,<contract columns>`), quarantine as JSONL. */
interface ScanSink {
  good(text: string): Promise<void>;
  bad(text: string): Promise<void>;
}

type Scanned = { rejected: FileCounts } | { counts: FileCounts; reasons: Partial<Record<QuarantineReason, number>> };

const emptyCounts = (f: ExtractFile): FileCounts => ({
  key: f.key,
  extractDate: f.extractDate,
  sha256: '',
  bytes: f.size,
  status: 'accepted',
  rows: 0,
  accepted: 0,
  quarantined: 0,
  rejectedRows: 0,
  quarantinedByReason: {},
  blankLines: 0,
  duplicatesKept: 0,
  ignoredColumns: [],
  missingOptionalColumns: [],
});

/**
 * One pass over a file in JavaScript: the file-level checks (not CSV, compressed, header), then every row checked
 * against the contract; accepted rows and quarantine entries go to `sink`, each accepted line led by `prefix`.
 */
async function scanFile(
  ctx: StageContext,
  contract: FeedContract,
  f: ExtractFile,
  sink: ScanSink,
  prefix: string,
  onBytes?: (b: number) => void,
  body?: Buffer,
): Promise<Scanned> {
  const unreadable = await notCsv(f, body ?? ctx.stores.landing);
  if (unreadable) return { rejected: await rejected(ctx.stores.landing, { ...f, kind: 'file' }, ...unreadable) };
  try {
    return await scanRows(ctx, contract, f, sink, prefix, onBytes, body);
  } catch (err) {
    if (err instanceof CsvFileError || err instanceof FileRejection) {
      const reason = err instanceof FileRejection ? err.reason : csvErrorReason(err.message);
      return { rejected: await rejected(ctx.stores.landing, { ...f, kind: 'file' }, reason, err.message) };
    }
    throw err;
  }
}

/** [reason, problem] when the file is not a .csv or is compressed (by its first bytes), before any row is read. */
async function notCsv(
  f: ExtractFile,
  from: Buffer | ObjectStore,
): Promise<[FileRejectReason | 'not_csv', string] | undefined> {
  if (!/\.csv$/i.test(f.name)) return ['not_csv', 'not a .csv file (providers send CSV: see docs/feeds)'];
  const sniffed = sniffBinary(Buffer.isBuffer(from) ? from.subarray(0, 8) : await firstBytes(from, f.key, 8));
  if (sniffed) return ['compressed', `not CSV: ${sniffed} (send the extract uncompressed)`];
  return undefined;
}

/** The header of a file as read: each contract column's position in it, and whether it is the contract's columns in order. */
interface HeaderLayout {
  header: string[];
  /** contract column -> header position (-1 = absent optional column) */
  index: number[];
  /** the header is the contract's columns in order: an accepted row's raw text is its line */
  sameLayout: boolean;
}

/** The rows of a readable file: the header mapped, then every record checked and sent to the sink (scanFile). */
async function scanRows(
  ctx: StageContext,
  contract: FeedContract,
  f: ExtractFile,
  sink: ScanSink,
  prefix: string,
  onBytes?: (b: number) => void,
  body?: Buffer,
): Promise<Scanned> {
  const columns = Object.keys(contract.fields);
  const counts = emptyCounts(f);
  const reasons: Partial<Record<QuarantineReason, number>> = {};
  const stats: CsvReadStats = { bytes: 0, sha256: '', blankLines: 0 };
  let layout: HeaderLayout | null = null;
  const isValid = contract.rowValidator(f.extractDate);
  for await (const batch of readCsv(
    body ? Readable.from([body]) : await ctx.stores.landing.getStream(f.key),
    stats,
    onBytes ? { onBytes } : {},
  )) {
    let goodOut = '';
    let badOut = '';
    for (const rec of batch) {
      if (layout === null) {
        const header = rec.fields;
        const index = mapHeader(contract, header, counts);
        layout = {
          header,
          index,
          sameLayout: header.length === columns.length && header.every((h, i) => h === columns[i]),
        };
        continue;
      }
      counts.rows++;
      const entry = checkRecord(contract, isValid, columns, layout.header, layout.index, rec, f.key, f.extractDate);
      if (entry) {
        reasons[entry.reason] = (reasons[entry.reason] ?? 0) + 1;
        counts.quarantined++;
        badOut += `${JSON.stringify(entry)}\n`;
      } else goodOut += acceptedLine(prefix, rec, layout);
    }
    await sink.good(goodOut);
    await sink.bad(badOut);
  }
  if (layout === null) throw new FileRejection('no_header', 'empty file: no header row');
  counts.sha256 = stats.sha256;
  counts.blankLines = stats.blankLines;
  return { counts, reasons };
}

/** An accepted row as a line of the temp CSV: `<prefix><line>,` then the contract's columns. */
function acceptedLine(prefix: string, rec: CsvRecord, { sameLayout, index }: HeaderLayout): string {
  // the header is the contract's columns in order (and no CR inside the record): the raw text is the row
  if (sameLayout && rec.raw.indexOf('\r') === -1) return `${prefix}${rec.line},${rec.raw}\n`;
  let line = `${prefix}${rec.line}`;
  for (const i of index) line += `,"${i < 0 ? '' : rec.fields[i]!.replaceAll('"', '""')}"`;
  return `${line}\n`;
}

/** The counts of a file read, once duplicates and the accepted rows are known; throws if they do not reconcile. */
function settle(
  ctx: StageContext,
  contract: FeedContract,
  f: ExtractFile,
  counts: FileCounts,
  reasons: Partial<Record<QuarantineReason, number>>,
  dup: { accepted: number; duplicates: number },
): FileCounts {
  if (ctx.config.validate.exactDuplicates === 'quarantine') {
    if (dup.duplicates > 0) reasons.duplicate = (reasons.duplicate ?? 0) + dup.duplicates;
    counts.quarantined += dup.duplicates;
  } else counts.duplicatesKept = dup.duplicates;
  counts.accepted = dup.accepted;
  counts.acceptedKey = acceptedKeyOf(ctx.asAt, contract.source, contract.feed, f);
  if (counts.quarantined > 0) counts.quarantineKey = quarantineKeyOf(ctx.asAt, contract.source, contract.feed, f);
  counts.quarantinedByReason = Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (counts.rows !== counts.accepted + counts.quarantined) {
    throw new Error(
      `validate ${f.key}: counts do not reconcile (rows ${counts.rows} != accepted ${counts.accepted} + quarantined ${counts.quarantined})`,
    );
  }
  return counts;
}

/** Validate one extract file. Never throws for bad data: file problems come back as status "rejected". */
export async function validateFile(
  ctx: StageContext,
  contract: FeedContract,
  f: ExtractFile,
  onBytes?: (b: number) => void,
): Promise<FileCounts> {
  const columns = Object.keys(contract.fields);
  const dir = await mkdtemp(join(await ensureDir(scratchOf(ctx.stores.secure)), 'locality-validate-'));
  const goodPath = join(dir, 'accepted.csv');
  const quarantinePath = join(dir, 'quarantine.jsonl');
  const good = createWriteStream(goodPath, { highWaterMark: 1 << 20 });
  const bad = createWriteStream(quarantinePath, { highWaterMark: 1 << 20 });
  try {
    // Header of the temp CSV of accepted rows: _line then the contract columns.
    await writeAll(good, `_line,${columns.join(',')}\n`);
    const scanned = await scanFile(
      ctx,
      contract,
      f,
      { good: (t) => writeAll(good, t), bad: (t) => writeAll(bad, t) },
      '',
      onBytes,
    );
    if ('rejected' in scanned) return scanned.rejected;
    await closeStream(good);
    await closeStream(bad);
    // Exact duplicates and the Parquet of accepted rows, in DuckDB (spills to disk: bounded memory).
    const dup = await finishAccepted(
      ctx,
      contract,
      columns,
      goodPath,
      quarantinePath,
      f,
      ctx.config.validate.exactDuplicates,
    );
    const counts = settle(ctx, contract, f, scanned.counts, scanned.reasons, dup);
    if (counts.quarantineKey) await ctx.stores.secure.put(counts.quarantineKey, createReadStream(quarantinePath));
    return counts;
  } finally {
    // a rejected file leaves writes in flight: their late 'write after destroy' errors have nowhere to go
    for (const ws of [good, bad]) ws.on('error', () => {}).destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A file this small or smaller is validated in a batch with others (its rows and quarantine held in memory). */
export const SMALL_FILE_BYTES = 1 << 20;
/** A batch: at most this many files and this many bytes, one DuckDB instance and a handful of statements for all. */
const BATCH_FILES = 2000;
const BATCH_BYTES = 64 << 20;
/** Small files of a batch read ahead of the one being checked. */
const READ_AHEAD = 16;

/** Small files in batches (feeds delivered as thousands of one-row extracts), large files one by one. */
export function batchesOf<T extends { size: number }>(files: readonly T[]): Array<{ batch: T[] } | { one: T }> {
  const out: Array<{ batch: T[] } | { one: T }> = [];
  let cur: T[] = [];
  let bytes = 0;
  const flush = () => {
    if (cur.length === 1) out.push({ one: cur[0]! });
    else if (cur.length > 1) out.push({ batch: cur });
    cur = [];
    bytes = 0;
  };
  for (const f of files) {
    if (f.size > SMALL_FILE_BYTES) {
      out.push({ one: f });
      continue;
    }
    if (cur.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES) flush();
    cur.push(f);
    bytes += f.size;
  }
  flush();
  return out;
}

/**
 * Validate many small files at once: each is scanned in JavaScript as validateFile does, its accepted rows kept in
 * memory until the file is known to be readable (a file rejected part way leaves nothing behind), then appended to
 * one CSV for the batch with the file's ordinal (`_file`); DuckDB then finds exact duplicates within each file and
 * writes one Parquet for the batch (acceptedPart in each file's counts says which rows are its). The same counts,
 * quarantine and accepted rows per file as validateFile; no per-file DuckDB instance, statement or Parquet.
 */
export async function validateBatch(
  ctx: StageContext,
  contract: FeedContract,
  batch: readonly ExtractFile[],
  batchNo: number,
  onBytes?: (b: number) => void,
): Promise<FileCounts[]> {
  const columns = Object.keys(contract.fields);
  const dir = await mkdtemp(join(await ensureDir(scratchOf(ctx.stores.secure)), 'locality-validate-'));
  const goodPath = join(dir, 'accepted.csv');
  const good = createWriteStream(goodPath, { highWaterMark: 1 << 20 });
  const results: Array<FileCounts | undefined> = [];
  const read: BatchFileRead[] = [];
  try {
    await writeAll(good, `_file,_line,${columns.join(',')}\n`);
    let done = 0;
    const bodies = bodiesAhead(ctx.stores.landing, batch);
    for (const [ord, f] of batch.entries()) {
      const body = await bodies.take(ord);
      const { sink, text } = textSink();
      const scanned = await scanFile(
        ctx,
        contract,
        f,
        sink,
        `${ord},`,
        onBytes ? (b) => onBytes(done + b) : undefined,
        body,
      );
      done += f.size;
      if ('rejected' in scanned) {
        results[ord] = scanned.rejected;
        continue;
      }
      await writeAll(good, text.good);
      read.push({ ord, f, counts: scanned.counts, reasons: scanned.reasons, quarantine: text.bad });
      results[ord] = undefined;
    }
    await closeStream(good);
    if (read.length > 0) await settleBatch(ctx, contract, goodPath, batchNo, read, results);
    return results.map((c) => c!);
  } finally {
    good.on('error', () => {}).destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A file of a batch that was read: its ordinal, counts so far and quarantine text (accepted rows are in the batch CSV). */
interface BatchFileRead {
  ord: number;
  f: ExtractFile;
  counts: FileCounts;
  reasons: Partial<Record<QuarantineReason, number>>;
  quarantine: string;
}

/**
 * The bodies of a batch's small files, read whole, READ_AHEAD ahead of the one being checked (their reads overlap
 * instead of queueing); `take(i)` in order, and the body is let go once taken.
 */
function bodiesAhead(landing: ObjectStore, batch: readonly ExtractFile[]): { take(i: number): Promise<Buffer> } {
  const bodies: Array<Promise<Buffer> | undefined> = [];
  const fetch = (i: number) => {
    if (i < batch.length && bodies[i] === undefined) {
      const p = landing.get(batch[i]!.key);
      p.catch(() => {}); // awaited in turn by take
      bodies[i] = p;
    }
  };
  for (let i = 0; i < READ_AHEAD; i++) fetch(i);
  return {
    async take(i) {
      fetch(i + READ_AHEAD);
      const body = await bodies[i]!;
      bodies[i] = Promise.resolve(Buffer.alloc(0));
      return body;
    },
  };
}

/** A ScanSink keeping the text in memory (a small file of a batch: nothing is kept of a file rejected part way). */
function textSink(): { sink: ScanSink; text: { good: string; bad: string } } {
  const text = { good: '', bad: '' };
  return {
    sink: {
      good: async (t) => {
        text.good += t;
      },
      bad: async (t) => {
        text.bad += t;
      },
    },
    text,
  };
}

/** The batch's duplicates and Parquet (finishAcceptedBatch), then each read file's counts and quarantine, in `results`. */
async function settleBatch(
  ctx: StageContext,
  contract: FeedContract,
  goodPath: string,
  batchNo: number,
  read: BatchFileRead[],
  results: Array<FileCounts | undefined>,
): Promise<void> {
  const batchKey = batchKeyOf(ctx.asAt, contract.source, contract.feed, batchNo);
  const finished = await finishAcceptedBatch(
    ctx,
    Object.keys(contract.fields),
    goodPath,
    batchKey,
    read,
    ctx.config.validate.exactDuplicates,
  );
  for (const r of read) {
    const counts = settle(ctx, contract, r.f, r.counts, r.reasons, finished.get(r.ord)!);
    counts.acceptedKey = batchKey;
    counts.acceptedPart = r.ord;
    if (counts.quarantineKey) await ctx.stores.secure.put(counts.quarantineKey, r.quarantine);
    results[r.ord] = counts;
  }
}

/** Map the header to the contract's columns; throws FileRejection when it cannot be read as the feed. */
function mapHeader(contract: FeedContract, header: string[], counts: FileCounts): number[] {
  const names = header.map((h) => h.trim());
  const columns = Object.keys(contract.fields);
  // a repeated header cell is named only when it is one of the feed's columns (a data row read as the header
  // would otherwise put its values in the message): else by position
  const dupes = names.map((n, i) => (names.indexOf(n) !== i ? i : -1)).filter((i) => i >= 0);
  if (dupes.length > 0) {
    const named = [...new Set(dupes.map((i) => names[i]!).filter((n) => columns.includes(n)))];
    const others = dupes.filter((i) => !columns.includes(names[i]!)).map((i) => i + 1);
    throw new FileRejection(
      'duplicate_columns',
      `header names column(s) more than once: ${[...named, ...(others.length ? [`the cells at position(s) ${others.slice(0, 10).join(', ')}${others.length > 10 ? ', ...' : ''}`] : [])].join(', ')}`,
    );
  }
  const missing = columns.filter((c) => !names.includes(c) && !contract.optionalColumns.includes(c));
  if (missing.length > 0) {
    const looksOther =
      header.length === 1 && /[;\t|]/.test(header[0]!)
        ? ` (the header looks delimited by ${JSON.stringify(/[;\t|]/.exec(header[0]!)![0])}, not commas: not CSV)`
        : '';
    throw new FileRejection(
      'missing_columns',
      `not a ${contract.source}/${contract.feed} file: required column(s) missing from the header: ${missing.join(', ')}${looksOther}`,
    );
  }
  // extra columns are named when they look like column names, else by position (never a value in a message)
  counts.ignoredColumns = names
    .map((n, i) => [n, i] as const)
    .filter(([n]) => !columns.includes(n))
    .map(([n, i]) => (/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(n) ? n : `(column ${i + 1})`));
  counts.missingOptionalColumns = columns.filter((c) => !names.includes(c));
  return columns.map((c) => names.indexOf(c));
}

function quarantineEntry(
  header: string[],
  rec: CsvRecord,
  file: string,
  field: string,
  reason: QuarantineReason,
  detail: string,
  problems?: QuarantineEntry['problems'],
): QuarantineEntry {
  const row: Record<string, string> = {};
  for (let i = 0; i < Math.max(header.length, rec.fields.length); i++)
    row[header[i] ?? `_extra_${i + 1}`] = rec.fields[i] ?? '';
  return {
    file,
    line: rec.line,
    field,
    reason,
    detail,
    problems: problems ?? [{ field, reason, detail }],
    row,
    raw: rec.raw,
  };
}

/** null when the record is a good row; else its quarantine entry. No closures on the per-row path. */
function checkRecord(
  contract: FeedContract,
  isValid: ReturnType<FeedContract['rowValidator']>,
  columns: readonly string[],
  header: string[],
  index: number[],
  rec: CsvRecord,
  file: string,
  extractDate: string,
): QuarantineEntry | null {
  if (rec.malformed)
    return quarantineEntry(header, rec, file, header[rec.malformedField ?? 0] ?? '', 'bad_quoting', rec.malformed);
  if (rec.fields.length !== header.length) {
    return quarantineEntry(
      header,
      rec,
      file,
      '',
      'field_count',
      `expected ${header.length} fields (as the header), found ${rec.fields.length}`,
    );
  }
  const row: Record<string, string> = {};
  for (let c = 0; c < columns.length; c++) {
    const i = index[c]!;
    row[columns[c]!] = i < 0 ? '' : rec.fields[i]!;
  }
  if (isValid(row)) return null;
  const problems = checkRow(contract, row, extractDate);
  const first = problems[0]!;
  return quarantineEntry(header, rec, file, first.field, first.reason, first.detail, problems);
}

/** Merge two JSONL files each sorted by `line` into `into` (rewritten in place), streaming. */
async function mergeByLine(into: string, other: string): Promise<void> {
  const merged = `${into}.merged`;
  const ws = createWriteStream(merged, { highWaterMark: 1 << 20 });
  const lineOf = (s: string) => Number(/"line":(\d+)/.exec(s)![1]);
  const a = createInterface({ input: createReadStream(into), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const b = createInterface({ input: createReadStream(other), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (!x.done && (y.done || lineOf(x.value) <= lineOf(y.value))) {
      await writeAll(ws, `${x.value}\n`);
      x = await a.next();
    } else if (!y.done) {
      await writeAll(ws, `${y.value}\n`);
      y = await b.next();
    }
  }
  await closeStream(ws);
  await rename(merged, into);
}

/** A SQL string literal. */
const sqlText = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The temp CSV of accepted rows as DuckDB reads it: `keyColumns` (BIGINT: _line, or _file and _line) then the
 * contract's columns as text. nullstr \x01 (a control character no valid cell holds): blank cells stay '', not NULL.
 */
function acceptedCsv(path: string, keyColumns: readonly string[], columns: readonly string[]): string {
  const colTypes = `{${[...keyColumns.map((k) => `'${k}': 'BIGINT'`), ...columns.map((c) => `${sqlText(c)}: 'VARCHAR'`)].join(', ')}}`;
  return `read_csv(${sqlText(path)}, header = true, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, nullstr = '\x01', new_line = '\\n', columns = ${colTypes})`;
}

/** The quarantine entry of an exact duplicate row: `cells` are the feed columns' values, in contract order. */
function duplicateEntry(
  file: string,
  line: number,
  firstLine: unknown,
  columns: readonly string[],
  cells: readonly unknown[],
): QuarantineEntry {
  const row: Record<string, string> = {};
  for (let c = 0; c < columns.length; c++) row[columns[c]!] = String(cells[c] ?? '');
  const detail = `exact duplicate of line ${String(firstLine)}`;
  return {
    file,
    line,
    field: '',
    reason: 'duplicate',
    detail,
    problems: [{ field: '', reason: 'duplicate', detail }],
    row,
    raw: columns.map((c) => csvCell(row[c]!)).join(','),
  };
}

/** A count(*) query's one BIGINT `n`, as a number. */
async function countOf(db: { conn: DuckDBConnection }, sql: string): Promise<number> {
  return Number((await (await db.conn.run(sql)).getRowObjectsJS())[0]!.n as bigint);
}

/**
 * Load the accepted rows into DuckDB, find exact duplicates (all feed columns equal to an earlier row's),
 * append their quarantine entries, and write the Parquet of accepted rows (ordered by line).
 */
async function finishAccepted(
  ctx: StageContext,
  contract: FeedContract,
  columns: string[],
  goodPath: string,
  quarantinePath: string,
  f: ExtractFile,
  mode: 'keep' | 'quarantine',
): Promise<{ accepted: number; duplicates: number }> {
  // A small buffer pool: duplicate detection over a file of any size spills to disk instead of growing memory.
  const db = await openScratchDuckDb(VALIDATE_DUCKDB_MEMORY, scratchOf(ctx.stores.secure));
  try {
    const q = sqlText;
    const ids = columns.map((c) => `"${c}"`).join(', ');
    const src = acceptedCsv(goodPath, ['_line'], columns);
    // One read of the temp CSV: every accepted row to Parquet with a 53-bit hash of its feed columns.
    // One thread: rows stay in file order and the Parquet bytes depend only on the rows.
    const all = join(db.dir, 'all.parquet');
    await db.conn.run('SET threads = 1');
    await db.conn.run(
      `COPY (SELECT _line, ${ids}, (hash(${ids}) & 9007199254740991)::BIGINT AS _row_hash FROM ${src}) TO ${q(all)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`,
    );
    await db.conn.run('RESET threads');
    const allRows = `read_parquet(${q(all)}, hive_partitioning = false)`;
    // Duplicates: rows whose hash repeats are candidates (a one-column scan); among those, rows equal in
    // every column to an earlier line are the duplicates (exact: the hash is only a filter).
    await db.conn.run(
      `CREATE TABLE cand AS SELECT _row_hash AS h FROM ${allRows} GROUP BY _row_hash HAVING count(*) > 1`,
    );
    await db.conn.run(`CREATE TABLE t AS SELECT * FROM (
        SELECT _line, ${ids}, min(_line) OVER (PARTITION BY ${ids}) AS _first_line FROM ${allRows} WHERE _row_hash IN (SELECT h FROM cand)
      ) WHERE _line <> _first_line`);
    const duplicates = await countOf(db, 'SELECT count(*)::BIGINT AS n FROM t');
    let file = all;
    if (duplicates > 0 && mode === 'quarantine') {
      await quarantineDuplicates(db, f, columns, ids, quarantinePath);
      // Rare: rewrite without the duplicate lines (from the Parquet, not the CSV).
      file = join(db.dir, 'accepted.parquet');
      await db.conn.run('SET threads = 1');
      await db.conn.run(
        `COPY (SELECT * FROM ${allRows} WHERE _line NOT IN (SELECT _line FROM t)) TO ${q(file)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`,
      );
    }
    const n = await countOf(db, `SELECT count(*)::BIGINT AS n FROM read_parquet(${q(file)})`);
    await ctx.stores.secure.put(acceptedKeyOf(ctx.asAt, contract.source, contract.feed, f), createReadStream(file));
    return { accepted: n, duplicates };
  } finally {
    await db.dispose();
  }
}

/** The duplicate rows (table t) as quarantine entries, streamed in line order and merged into the file's quarantine. */
async function quarantineDuplicates(
  db: { dir: string; conn: DuckDBConnection },
  f: ExtractFile,
  columns: readonly string[],
  ids: string,
  quarantinePath: string,
): Promise<void> {
  const dupPath = join(db.dir, 'duplicates.jsonl');
  const ws = createWriteStream(dupPath);
  const res = await db.conn.stream(`SELECT _line, _first_line, ${ids} FROM t ORDER BY _line`);
  for (;;) {
    const chunk = await res.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    let out = '';
    for (const r of chunk.getRows())
      out += `${JSON.stringify(duplicateEntry(f.key, Number(r[0]), r[1], columns, r.slice(2)))}\n`;
    await writeAll(ws, out);
  }
  await closeStream(ws);
  await mergeByLine(quarantinePath, dupPath);
}

/** Merge two JSONL texts each sorted by `line`. */
function mergeTextByLine(a: string, b: string): string {
  const lineOf = (x: string) => Number(/"line":(\d+)/.exec(x)![1]);
  const xs = a.split('\n').filter(Boolean);
  const ys = b.split('\n').filter(Boolean);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < xs.length || j < ys.length) {
    if (i < xs.length && (j >= ys.length || lineOf(xs[i]!) <= lineOf(ys[j]!))) out.push(xs[i++]!);
    else out.push(ys[j++]!);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * finishAccepted for a batch: one read of the batch CSV (`_file,_line,<columns>`), duplicates found within each file,
 * the batch's accepted rows written as one Parquet (with `_file`) and put into the secure zone at batchKey. Returns each file's accepted and duplicate counts by ordinal; duplicate
 * quarantine entries are merged into each file's `quarantine` text (mode quarantine).
 */
async function finishAcceptedBatch(
  ctx: StageContext,
  columns: string[],
  goodPath: string,
  batchKey: string,
  files: Array<{ ord: number; f: ExtractFile; quarantine: string }>,
  mode: 'keep' | 'quarantine',
): Promise<Map<number, { accepted: number; duplicates: number }>> {
  const db = await openScratchDuckDb(VALIDATE_DUCKDB_MEMORY, scratchOf(ctx.stores.secure));
  try {
    const q = sqlText;
    const ids = columns.map((c) => `"${c}"`).join(', ');
    const src = acceptedCsv(goodPath, ['_file', '_line'], columns);
    await db.conn.run('SET threads = 1');
    await db.conn.run(
      `CREATE TABLE a AS SELECT _file, _line, ${ids}, (hash(${ids}) & 9007199254740991)::BIGINT AS _row_hash FROM ${src}`,
    );
    await db.conn.run(
      `CREATE TABLE cand AS SELECT _file, _row_hash FROM a GROUP BY _file, _row_hash HAVING count(*) > 1`,
    );
    await db.conn.run(`CREATE TABLE t AS SELECT * FROM (
        SELECT _file, _line, ${ids}, min(_line) OVER (PARTITION BY _file, ${ids}) AS _first_line FROM a WHERE (_file, _row_hash) IN (SELECT (_file, _row_hash) FROM cand)
      ) WHERE _line <> _first_line`);
    const byOrd = new Map(files.map((r) => [r.ord, r]));
    const result = new Map<number, { accepted: number; duplicates: number }>(
      files.map((r) => [r.ord, { accepted: 0, duplicates: 0 }]),
    );
    for (const row of await (
      await db.conn.run('SELECT _file, count(*)::BIGINT AS n FROM t GROUP BY _file')
    ).getRowObjectsJS()) {
      result.get(Number(row._file))!.duplicates = Number(row.n);
    }
    const anyDuplicates = [...result.values()].some((r) => r.duplicates > 0);
    if (anyDuplicates && mode === 'quarantine') {
      const dups = new Map<number, string>();
      const res = await db.conn.stream(`SELECT _file, _line, _first_line, ${ids} FROM t ORDER BY _file, _line`);
      for (;;) {
        const chunk = await res.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const r of chunk.getRows()) {
          const ord = Number(r[0]);
          const e = duplicateEntry(byOrd.get(ord)!.f.key, Number(r[1]), r[2], columns, r.slice(3));
          dups.set(ord, `${dups.get(ord) ?? ''}${JSON.stringify(e)}\n`);
        }
      }
      for (const [ord, text] of dups) byOrd.get(ord)!.quarantine = mergeTextByLine(byOrd.get(ord)!.quarantine, text);
      await db.conn.run('DELETE FROM a WHERE (_file, _line) IN (SELECT (_file, _line) FROM t)');
    }
    for (const row of await (
      await db.conn.run('SELECT _file, count(*)::BIGINT AS n FROM a GROUP BY _file')
    ).getRowObjectsJS()) {
      result.get(Number(row._file))!.accepted = Number(row.n);
    }
    // One Parquet for the batch, rows in file then line order (one thread: the bytes depend only on the rows).
    const file = join(db.dir, 'batch.parquet');
    await db.conn.run(
      `COPY (SELECT * FROM a ORDER BY _file, _line) TO ${q(file)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`,
    );
    await ctx.stores.secure.put(batchKey, createReadStream(file));
    return result;
  } finally {
    await db.dispose();
  }
}

export { isSnapshot };

/** The registry entry (pipelines/stages/index.ts). */
export const stage = defineStage('validate', validateInputSchema, validateStage);
