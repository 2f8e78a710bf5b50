export * from './config.ts';
export * from './build.ts';
export * from './evaluate.ts';
