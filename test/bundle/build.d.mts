export declare const ROOT: string;
export declare const OUT_DIR: string;
export declare function bundleManifest(pkg?: { version: string; engines: { node: string } }): Record<string, any>;
export declare function bundlePath(version: string, outDir?: string): string;
export declare function mcpb(args: string[], opts?: { cwd?: string }): string;
export declare function buildBundle(opts?: { outDir?: string; log?: (line: string) => void }): { path: string; bytes: number; stage: string };
