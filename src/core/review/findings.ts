/**
 * The vocabulary of a review: severities, the finding codes and their severities, and the shapes a
 * review is made of. Codes are data (publint `src/shared/core.js` style); src/ui/render-review.ts
 * words them. Pure.
 */
import type { TarballContents, TarballFile } from '../tarball-contents.js'

export type Severity = 'info' | 'warn' | 'danger'
export const SEVERITIES: readonly Severity[] = ['info', 'warn', 'danger']
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

/** Every finding code and its severity. Codes are stable: policies and `--allow` name them. */
export const FINDINGS = {
  MANIFEST_MISMATCH: 'danger',
  MANIFEST_UNVERIFIED: 'danger',
  INSTALL_SCRIPT_ADDED: 'danger',
  INSTALL_SCRIPT_CHANGED: 'danger',
  NATIVE_BINARY_ADDED: 'danger',
  OBFUSCATED_CODE: 'danger',
  SENSITIVE_FILE: 'danger',
  DEPENDENCY_ADDED: 'warn',
  DEPENDENCY_NON_REGISTRY: 'warn',
  BIN_CHANGED: 'warn',
  ENTRY_POINT_CHANGED: 'warn',
  ENTRY_POINT_MISSING: 'warn',
  EXECUTABLE_ADDED: 'warn',
  NATIVE_BINARY_CHANGED: 'warn',
  MINIFIED_CODE: 'warn',
  LONG_LINE: 'warn',
  UNUSUAL_LOCATION: 'warn',
  LOCKFILE_SHIPPED: 'warn',
  DUPLICATE_PATH: 'warn',
  SIZE_GROWTH: 'warn',
  VERSION_BACKWARDS: 'warn',
  VERSION_JUMP: 'warn',
  VERSION_ALREADY_PUBLISHED: 'warn',
  PRERELEASE_ON_LATEST: 'warn',
  REF_TAG_MISMATCH: 'warn',
  REF_BRANCH_NOT_DEFAULT: 'warn',
  REF_PULL_REQUEST: 'warn',
  FIRST_RELEASE: 'info',
  VERSION_MAJOR: 'info',
  VERSION_MINOR: 'info',
  VERSION_PATCH: 'info',
  VERSION_PRERELEASE: 'info',
  VERSION_BACKPORT: 'info',
  FILES_ADDED: 'info',
  FILES_REMOVED: 'info',
  FILES_CHANGED: 'info',
  SIZE_CHANGED: 'info',
  DEPENDENCY_REMOVED: 'info',
  DEPENDENCY_CHANGED: 'info',
  INSTALL_SCRIPT_REMOVED: 'info',
} as const satisfies Record<string, Severity>

export type FindingCode = keyof typeof FINDINGS
export const FINDING_CODES = Object.keys(FINDINGS) as FindingCode[]
export const isFindingCode = (code: string): code is FindingCode => Object.hasOwn(FINDINGS, code)

export type FindingArgs = Record<string, string | number>
export interface Finding {
  code: FindingCode
  severity: Severity
  args: FindingArgs
}

export type DependencyField = 'dependencies' | 'optionalDependencies' | 'peerDependencies' | 'bundleDependencies'
export interface DependencyChange {
  field: DependencyField
  name: string
  from?: string
  to?: string
  change: 'added' | 'removed' | 'changed'
}
/** `size` is the staged size (0 for a removed file); `previousSize` the published one. */
export interface FileChange {
  path: string
  size: number
  previousSize?: number
}
export type BaselineReason = 'tag' | 'highest' | 'first-release'

export interface Review {
  package: { name: string; version: string }
  baseline: { version: string | null; reason: BaselineReason }
  files: { added: FileChange[]; removed: FileChange[]; changed: FileChange[] }
  size: { packed?: number; previousPacked?: number; unpacked: number; previousUnpacked?: number }
  dependencies: DependencyChange[]
  findings: Finding[]
}

export interface ReviewInput {
  previous: TarballContents | null
  previousVersion: string | null
  staged: TarballContents
  tag: string
  /** Where it was staged from: `refs/tags/v1.2.3`, `refs/heads/main`, `refs/pull/7/merge` or a bare branch name. */
  gitRef?: string
  /** The repository's default branch when known; otherwise `main` and `master` count as default. */
  defaultBranch?: string
  distTags?: Record<string, string>
  publishedVersions?: string[]
  /** Tarball byte sizes, when known (the review works on unpacked contents). */
  packedSize?: number
  previousPackedSize?: number
  /**
   * A registry that stages natively publishes the manifest it was sent at staging, not the tarball's
   * package.json: the install-relevant fields in which they differ, or `unavailable` when the registry
   * does not show the manifest it holds. Absent for record stores (we publish the tarball's own).
   */
  registryManifest?: { mismatched: string[] } | 'unavailable'
}

/** How the parts of a review report a finding; undefined arguments are dropped. */
export type Add = (code: FindingCode, args?: Record<string, string | number | undefined>) => void
export type Manifest = TarballContents['manifest']
export type FileMap = Map<string, TarballFile>

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
export const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
export const normPath = (p: string): string => p.replace(/^\.\//, '').replace(/^\/+/, '')
