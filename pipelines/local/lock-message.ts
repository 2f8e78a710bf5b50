/** The message for a local run refused by the run lock (no heavy imports: the CLI's summary uses it). */
import type { RunLock } from '../io/run-lock.ts';

export const DEFAULT_LOCK_STALE_HOURS = 12;

/** Who holds the lock (pid, host, since when) and when it counts as stale. */
export function lockedMessage(
  r: { asAt: string; lockedBy?: RunLock | undefined; outRoot: string },
  staleHours = DEFAULT_LOCK_STALE_HOURS,
): string {
  const h = r.lockedBy;
  const who = h
    ? `process ${h.pid ?? '?'} on host ${h.host ?? '?'} (${h.ranBy}), running since ${h.acquiredAt}`
    : 'another run';
  return (
    `as-at ${r.asAt}: not run: ${who} holds the run lock of ${r.outRoot} for this date. ` +
    `Wait for it to finish. The lock is stale, and the next run takes it, once that process has exited (same host) or after ${staleHours} hours.`
  );
}
