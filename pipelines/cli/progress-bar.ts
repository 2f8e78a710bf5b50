/**
 * Progress bars on stderr (cli-progress): one line per stage of a run, plus a bar for whatever a stage
 * reports through the Progress port (rows, pairs, bytes), with ETA. When stderr is not a terminal
 * (CI, pipes, tests) bars are not drawn; one plain line per stage start/end is written instead.
 */
import progressLib from 'cli-progress';
import type { Progress } from '../progress.ts';

export interface StageProgress extends Progress {
  stageStarted(stage: string, items?: number): void;
  stageItemDone(stage: string): void;
  stageFinished(stage: string, ok: boolean): void;
  /** Stop drawing (before printing the summary). */
  close(): void;
}

const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function cliProgress(stream: NodeJS.WriteStream = process.stderr): StageProgress {
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  const multi = tty
    ? new progressLib.MultiBar(
        {
          stream,
          format: ' {label} |{bar}| {percentage}% {value}/{total} {unit} ETA {eta_formatted} {status}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 50,
          fps: 10,
        },
        progressLib.Presets.shades_classic,
      )
    : undefined;
  const stageBars = new Map<string, { bar?: progressLib.SingleBar; started: number; done: number; total: number }>();
  let inner: { bar?: progressLib.SingleBar; label: string; total?: number; value: number } | undefined;
  const line = (s: string) => {
    if (multi) multi.log(`${s}\n`);
    else stream.write(`${s}\n`);
  };
  const pad = (s: string) => s.padEnd(14);

  return {
    stageStarted(stage, items) {
      const total = items ?? 1;
      const bar = multi?.create(total, 0, { label: pad(stage), unit: items ? 'feeds' : '', status: 'running' });
      stageBars.set(stage, { bar, started: Date.now(), done: 0, total });
      if (!multi) line(`[${stage}] started${items ? ` (${items} feeds)` : ''}`);
    },
    stageItemDone(stage) {
      const s = stageBars.get(stage);
      if (!s) return;
      s.done++;
      s.bar?.update(s.done);
    },
    stageFinished(stage, ok) {
      const s = stageBars.get(stage);
      const took = s ? fmtSeconds(Date.now() - s.started) : '';
      if (s?.bar) s.bar.update(ok ? s.total : s.done, { status: ok ? `done ${took}` : 'FAILED' });
      if (!multi) line(`[${stage}] ${ok ? 'done' : 'FAILED'} ${took}`);
    },
    start(label, total) {
      if (inner?.bar) multi?.remove(inner.bar);
      inner = { label, value: 0, ...(total !== undefined ? { total } : {}) };
      if (multi && total !== undefined)
        inner.bar = multi.create(total, 0, { label: pad(`  ${label}`).slice(0, 14), unit: '', status: '' });
    },
    tick(units = 1) {
      if (!inner) return;
      inner.value += units;
      inner.bar?.update(inner.value);
    },
    update(done) {
      if (!inner) return;
      inner.value = done;
      inner.bar?.update(done);
    },
    stop() {
      if (inner?.bar) multi?.remove(inner.bar);
      inner = undefined;
    },
    close() {
      multi?.stop();
    },
  };
}
