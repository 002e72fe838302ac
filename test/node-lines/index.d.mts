export declare const LINES: readonly string[];
export declare function nodeBinary(line: string | number): string;
