/**
 * The file-by-file diff of a staged release against its baseline (`stage-publish diff`): unified
 * diffs of text files, a summary for binary ones, added and removed files diffed against nothing.
 * Pure: the same file comparison as the review (./review/files.ts), then ./diff.ts per file.
 */
import type { TarballContents, TarballFile } from './tarball-contents.js'
import { isBinary, unifiedDiff } from './diff.js'
import { compareFiles, indexFiles } from './review.js'

export type FileStatus = 'added' | 'removed' | 'changed'

export interface FileDiff {
  path: string
  status: FileStatus
  /** Staged size (absent for a removed file). */
  size?: number
  /** Published size (absent for an added file). */
  previousSize?: number
  /** Either side is binary: no text diff, only the sizes. */
  binary: boolean
  /** `diff -u` text with `a/` and `b/` names (`/dev/null` for a missing side); absent for binary files. */
  diff?: string
}

export interface PackageDiff {
  files: FileDiff[]
  /** Filters that name no file of either version. */
  unmatched: string[]
}

export interface PackageDiffOptions {
  /** Only these files, or files under these folders (package-relative; `./` and `package/` are accepted). */
  paths?: string[]
  /** Unchanged lines around each change (default 3). */
  context?: number
}

const normalise = (p: string): string => p.trim().replace(/\\/g, '/').replace(/^\.\//, '').replace(/^package\//, '').replace(/^\/+/, '')

export function diffPackages(previous: TarballContents | null, staged: TarballContents, options: PackageDiffOptions = {}): PackageDiff {
  const now = indexFiles(staged.files, () => {})
  const before = indexFiles(previous?.files ?? [], () => {})
  const changes = compareFiles(now, before)

  const filters = (options.paths ?? []).map(normalise).filter((p) => p !== '')
  const matches = (path: string, filter: string): boolean =>
    path === filter || path.startsWith(filter.endsWith('/') ? filter : `${filter}/`)
  const wanted = (path: string): boolean => filters.length === 0 || filters.some((f) => matches(path, f))
  const unmatched = filters.filter((f) => ![...now.keys(), ...before.keys()].some((path) => matches(path, f)))

  const files: FileDiff[] = []
  const add = (path: string, status: FileStatus, a: TarballFile | undefined, b: TarballFile | undefined): void => {
    if (!wanted(path)) return
    const binary = (a !== undefined && isBinary(a.data)) || (b !== undefined && isBinary(b.data))
    const entry: FileDiff = {
      path,
      status,
      ...(b && { size: b.size }),
      ...(a && { previousSize: a.size }),
      binary,
    }
    if (!binary) {
      entry.diff = unifiedDiff(a?.data.toString('utf8') ?? '', b?.data.toString('utf8') ?? '', {
        oldName: a ? `a/${path}` : '/dev/null',
        newName: b ? `b/${path}` : '/dev/null',
        ...(options.context !== undefined && { context: options.context }),
      })
    }
    files.push(entry)
  }
  for (const { path } of changes.changed) add(path, 'changed', before.get(path), now.get(path))
  for (const { path } of changes.added) add(path, 'added', undefined, now.get(path))
  for (const { path } of changes.removed) add(path, 'removed', before.get(path), undefined)
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))
  return { files, unmatched }
}
