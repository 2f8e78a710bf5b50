/**
 * Cloud backfill: start the deployed backfill state machine (Distributed Map over as-at dates) and follow it to
 * the end, reporting the map run's item counts as progress. Throws with the execution's error and cause if it fails.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { BackfillRequest } from './periods.ts';

export interface CloudBackfillOptions {
  client: SFNClient;
  stateMachineArn: string;
  request: BackfillRequest;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (p: { status: string; total: number; succeeded: number; failed: number; running: number }) => void;
}

export interface CloudBackfillResult {
  executionArn: string;
  status: string;
  output: unknown;
}

export async function backfillCloud(o: CloudBackfillOptions): Promise<CloudBackfillResult> {
  const sleep = o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const name = `backfill-${o.request.from}-${o.request.to}-${o.request.every}-${Date.now()}`
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 80);
  const started = await o.client.send(
    new StartExecutionCommand({ stateMachineArn: o.stateMachineArn, name, input: JSON.stringify(o.request) }),
  );
  const executionArn = started.executionArn;
  if (!executionArn) throw new Error(`backfill: Step Functions returned no execution ARN for ${o.stateMachineArn}`);
  let mapRunArn: string | undefined;
  for (;;) {
    const ex = await o.client.send(new DescribeExecutionCommand({ executionArn }));
    const status = ex.status ?? 'UNKNOWN';
    mapRunArn ??= (await o.client.send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn;
    if (mapRunArn) {
      const mr = await o.client.send(new DescribeMapRunCommand({ mapRunArn }));
      const c = mr.itemCounts;
      o.onProgress?.({
        status,
        total: c?.total ?? 0,
        succeeded: c?.succeeded ?? 0,
        failed: (c?.failed ?? 0) + (c?.timedOut ?? 0) + (c?.aborted ?? 0),
        running: c?.running ?? 0,
      });
    } else o.onProgress?.({ status, total: 0, succeeded: 0, failed: 0, running: 0 });
    if (status === 'SUCCEEDED')
      return { executionArn, status, output: ex.output ? (JSON.parse(ex.output) as unknown) : null };
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') {
      throw new Error(
        `backfill execution ${executionArn} ${status.toLowerCase()}: ${ex.error ?? 'no error name'}${ex.cause ? `: ${ex.cause}` : ''}`,
      );
    }
    await sleep(o.pollMs ?? 5000);
  }
}
