/** Each loaded module followed by the absolute paths of the sources bundled into it (see bundle-meta.mjs). */
export function withBundledSources(loaded: string[]): string[]
