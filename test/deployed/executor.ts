/**
 * Step Functions for the deployed-path test: THE run definition rendered to ASL (pipelines/definition.ts, the one
 * the stack deploys), executed by aws-local-stepfunctions with a task resolver that invokes each Task's synthesized
 * Lambda bundle in its own process (LambdaHost). A Lambda error reaches the state machine as Step Functions passes
 * it on: Error = the errorType, Cause = the JSON { errorMessage, errorType, trace }.
 */
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { NOTIFY_STATE, renderRunDefinition } from '../../pipelines/definition.ts';
import type { LambdaHost } from './lambda-host.ts';

type Json = Parameters<StateMachine['run']>[0];

export interface DeployedExecution {
  executionId: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  notifications: unknown[];
}

export interface ExecuteOptions {
  /** Called with each Task's result before the execution carries on (tests start a second execution here). */
  afterTask?: (stateName: string, result: unknown) => Promise<void>;
}

export async function executeDeployed(
  host: LambdaHost,
  executionName: string,
  input: Json,
  opts: ExecuteOptions = {},
): Promise<DeployedExecution> {
  const { asl, taskStates } = renderRunDefinition();
  const executionId = `arn:aws:states:eu-west-2:000000000000:execution:LocalityPipelineRun:${executionName}`;
  const notifications: unknown[] = [];
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [stateName, task] of Object.entries(taskStates)) {
    handlers[stateName] = async (event: Json) => {
      const r = await host.invoke(task, event);
      if (!r.ok) {
        const err = new Error(JSON.stringify({ errorMessage: r.errorMessage, errorType: r.errorType, trace: [] }));
        err.name = r.errorType ?? 'Error';
        throw err;
      }
      await opts.afterTask?.(stateName, r.result);
      return r.result as Json;
    };
  }
  handlers[NOTIFY_STATE] = async (event: Json) => {
    notifications.push((event as { Message?: unknown } | null)?.Message ?? null);
    return {};
  };
  const machine = new StateMachine(asl as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries([...Object.keys(taskStates), NOTIFY_STATE].map((s) => [s, 0])),
    },
    context: { Execution: { Id: executionId, Name: executionName, StartTime: new Date().toISOString() } },
  });
  try {
    return { executionId, status: 'SUCCEEDED', output: await execution.result, notifications };
  } catch (err) {
    if (!(err instanceof ExecutionError)) throw err;
    // the error of the state that ended the execution (a Fail state: its Error and Cause)
    const last = (err as { cause?: unknown }).cause as Error | undefined;
    return {
      executionId,
      status: 'FAILED',
      error: last?.name ?? err.name,
      cause: last?.message ?? err.message,
      notifications,
    };
  }
}
