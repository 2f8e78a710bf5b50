/**
 * The CDK app (`npm run synth`, `npx cdk deploy`): one env-agnostic stack, checked by cdk-nag's AwsSolutions
 * pack; synthesis fails on any unacknowledged finding.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { execFileSync } from 'node:child_process';
import { APP_CONTEXT, LocalityPipelineStack } from './locality-stack.ts';

function gitCommit(): string {
  try {
    return `git:${execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()}`;
  } catch {
    return 'unknown';
  }
}

export function buildApp(opts: { codeVersion?: string; outdir?: string } = {}): {
  app: App;
  stack: LocalityPipelineStack;
} {
  const app = new App({ postCliContext: APP_CONTEXT, ...(opts.outdir ? { outdir: opts.outdir } : {}) });
  const runTimeoutMinutes = Number(app.node.tryGetContext('runTimeoutMinutes') ?? 0);
  if (!Number.isInteger(runTimeoutMinutes) || runTimeoutMinutes < 0)
    throw new Error(
      `context runTimeoutMinutes: expected a whole number of minutes, got ${String(app.node.tryGetContext('runTimeoutMinutes'))}`,
    );
  const stack = new LocalityPipelineStack(app, 'LocalityPipeline', {
    description: 'Locality data-matching and risk stratification pipeline',
    codeVersion: opts.codeVersion ?? process.env.CODE_VERSION ?? gitCommit(),
    ...(runTimeoutMinutes > 0 ? { runTimeout: Duration.minutes(runTimeoutMinutes) } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  buildApp().app.synth();
}
