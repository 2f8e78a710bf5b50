/** Types of bin/heap.mjs (plain JavaScript, run before any TypeScript tooling is needed). */
export declare const HEAP_SHARE_OF_MEMORY: number;
export declare function wantedHeapMiB(totalBytes?: number): number;
export declare function heapChosen(execArgv?: string[], nodeOptions?: string): boolean;
export declare function relaunchWithHeap(wantedMiB?: number): boolean;
export declare function lambdaHeapFlag(memoryMiB: number): string;
