/** Types of bin/build-cli.mjs (plain JavaScript, run by npm before any TypeScript tooling is needed). */
export declare const REPO_ROOT: string;
export declare const CLI_DIST: string;
export declare const CURRENT: string;
export declare function freshBundle(): string | null;
export declare function buildCli(opts?: { quiet?: boolean }): Promise<string>;
export declare function canBuild(): Promise<boolean>;
