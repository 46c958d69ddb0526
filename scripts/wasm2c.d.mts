/** Types of scripts/wasm2c.mjs for the TypeScript that imports it (tests/fuzz/native/build.ts). */
export declare const WASM2C_VERSION: string;
export declare function findWasm2c(): string;
export declare function findRuntimeHeader(): string;
export declare function requireTool(name: string, hint: string): void;
export declare function moduleLayout(generated: string, label: string): { heapBase: number; tableElements: number; funcTypes: number; funcValues: number };
export declare function run(command: string, args: string[]): string;
export declare function runAsync(command: string, args: string[]): Promise<void>;
