export declare const SMOKE: readonly string[];
