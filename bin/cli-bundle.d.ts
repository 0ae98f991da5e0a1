export declare const BUNDLE_DIR: string;
export declare const BUNDLE_FILE: string;
export declare const INPUTS_FILE: string;
export declare function bundleIsFresh(): boolean;
