/**
 * A landing extract a run reads (which ones: feeds/landing.ts): snapshot feeds (people, relationships) read
 * their latest readable extract on or before the as-at date, incremental feeds (events) every one.
 */
import type { FeedKind } from './catalogue.ts';

export interface ExtractFile {
  key: string;
  extractDate: string;
  /** File name inside the dt= folder. */
  name: string;
  size: number;
}

export function isSnapshot(kind: FeedKind): boolean {
  return kind !== 'events';
}
