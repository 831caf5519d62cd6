export declare const HEAVY_PACKAGES: string[]
export declare const isHeavyPackage: (name: string) => boolean
export declare const isHeavyModulePath: (file: string) => boolean
