/** Progress of a long step. The CLI draws bars (cli/progress-bar.ts); Lambdas and tests use `noProgress`. */
export interface Progress {
  /** Begin a step; total is in units (rows, pairs, bytes) when known. */
  start(label: string, total?: number): void;
  tick(units?: number): void;
  /** Set the absolute amount done (for byte-based progress). */
  update(done: number): void;
  stop(): void;
}

export const noProgress: Progress = { start() {}, tick() {}, update() {}, stop() {} };
