/**
 * The as-at dates of a backfill: one per period between --from and --to (inclusive), each the period's
 * last day: month -> the last day of each month; week -> every 7th day counting from --from + 6.
 * Pure, so the local loop and the AWS "Plan backfill" Lambda agree.
 */
import { z } from 'zod';
import { parseRunConfig } from '../config.ts';
import { isIsoDate } from '../layout.ts';

export const EVERY = ['month', 'week'] as const;
export type Every = (typeof EVERY)[number];

export const backfillRequestSchema = z
  .object({
    from: z.string().refine(isIsoDate, { message: 'must be a real date YYYY-MM-DD' }),
    to: z.string().refine(isIsoDate, { message: 'must be a real date YYYY-MM-DD' }),
    every: z.enum(EVERY),
    force: z.boolean().default(false),
    config: z.unknown().optional(),
    ranBy: z.string().optional(),
  })
  .refine((r) => r.from <= r.to, { message: '--from must be on or before --to', path: ['from'] });
export type BackfillRequest = z.infer<typeof backfillRequestSchema>;

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
const time = (d: string) => Date.parse(`${d}T00:00:00Z`);

/** At most this many periods (a guard against a mistyped year). */
export const MAX_PERIODS = 1000;

export function backfillPeriods(from: string, to: string, every: Every): string[] {
  if (!isIsoDate(from)) throw new Error(`--from ${from}: must be a real date YYYY-MM-DD`);
  if (!isIsoDate(to)) throw new Error(`--to ${to}: must be a real date YYYY-MM-DD`);
  if (from > to) throw new Error(`--from ${from} is after --to ${to}`);
  const out: string[] = [];
  if (every === 'week') {
    for (let t = time(from) + 6 * DAY; t <= time(to); t += 7 * DAY) out.push(iso(t));
  } else {
    const f = new Date(time(from));
    for (let y = f.getUTCFullYear(), m = f.getUTCMonth(); ; m++) {
      const end = iso(Date.UTC(y, m + 1, 0)); // day 0 of the next month = last day of this one
      if (end > to) break;
      if (end >= from) out.push(end);
    }
  }
  if (out.length > MAX_PERIODS)
    throw new Error(`backfill of ${out.length} periods is more than ${MAX_PERIODS}: check --from/--to`);
  return out;
}

/**
 * The plan the AWS backfill machine maps over: one item per as-at date, each with the request's config (as written,
 * {} for the defaults). The config is parsed strictly first: a bad one fails the plan before any date runs.
 */
export function planBackfill(req: BackfillRequest): {
  periods: Array<{ asAt: string; force: boolean; ranBy: string; config: unknown }>;
} {
  const config = req.config ?? {};
  parseRunConfig(config, 'backfill request config');
  return {
    periods: backfillPeriods(req.from, req.to, req.every).map((asAt) => ({
      asAt,
      force: req.force,
      ranBy: req.ranBy ?? 'aws-backfill',
      config,
    })),
  };
}
