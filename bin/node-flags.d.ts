export declare const TERMINAL_NODE_FLAGS: readonly string[];
export declare function nodeFlagsFor(command: string | undefined): readonly string[];
export declare function missingNodeFlags(command: string | undefined, execArgv?: readonly string[], nodeOptions?: string): string[];
