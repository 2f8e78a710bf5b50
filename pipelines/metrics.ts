/**
 * The names of the pipeline's operational metrics (CloudWatch namespace, service dimension): one place, read by the
 * Lambda handlers that emit them (functions/lib/metrics.ts) and the stack's alarms on them (infra/locality-stack.ts).
 */
export const METRICS_NAMESPACE = 'LocalityPipeline';
export const METRICS_SERVICE = 'locality-pipeline';
