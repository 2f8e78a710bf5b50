/**
 * The names the deployed stack gives its query side, in a module with no imports, so the CLI (`locality query
 * --athena`) reaches the same workgroup and database without loading aws-cdk-lib.
 */
export const GLUE_DATABASE = 'locality_pipeline';
export const ATHENA_WORKGROUP = 'locality-pipeline';
