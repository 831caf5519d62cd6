/**
 * What a package tarball holds once read (src/npm/tarball.ts reads it, strictly). The types
 * live in core so that the review and the diff, which only look at contents, depend on core alone.
 */

export interface TarballFile {
  /** Path inside the package, without the leading `package/`. */
  path: string
  size: number
  mode: number
  data: Buffer
}

export interface TarballContents {
  manifest: Record<string, unknown> & { name?: unknown; version?: unknown }
  files: TarballFile[]
}
