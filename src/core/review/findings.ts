/**
 * The vocabulary of a review: severities, the finding codes and their severities, and the shapes a
 * review is made of. Codes are data (publint `src/shared/core.js` style); src/ui/render-review.ts
 * words them. Pure.
 */
import type { DependencyField } from '../dependency-fields.js'
import type { TarballContents, TarballFile } from '../tarball-contents.js'
import type { EvidenceKind, PublishedEvidence, ReleaseEvidence } from '../trust-evidence.js'
import type { ProvenanceReview } from '../provenance.js'

export type Severity = 'info' | 'warn' | 'danger'
export const SEVERITIES: readonly Severity[] = ['info', 'warn', 'danger']
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

export type { DependencyField }

type Path = { path: string }
type FromTo = { from: string; to: string }
/** A semver step; `step` is semver.diff's answer (`major`, `premajor`, …). */
type StepArgs = FromTo & { step: string }
type Dependency = { field: DependencyField; name: string }
type FileCount = { count: number; bytes: number }

/**
 * The arguments of each finding code (publint's message unions are the model): what the review emits
 * and what src/ui/render-review.ts reads are checked against this map, so a mismatch does not compile.
 * Optional arguments are left out of the JSON when absent.
 */
export interface FindingArgsMap {
  MANIFEST_MISMATCH: { fields: string }
  MANIFEST_UNVERIFIED: Record<string, never>
  /** `version`: an earlier version carrying `evidence`; `hop`: how this release would reach the registry. */
  TRUST_DOWNGRADE: { evidence: EvidenceKind; version: string; hop: ReleaseHop }
  /** The staged provenance bundle is missing, replaced or does not verify: the release would lose it. */
  PROVENANCE_UNVERIFIED: { reason: string }
  /** What the verified bundle says (`provenance`) differs from the record's git/CI claim (`record`). */
  PROVENANCE_MISMATCH: { field: string; provenance: string; record: string }
  INSTALL_SCRIPT_ADDED: { script: string; command: string }
  INSTALL_SCRIPT_CHANGED: FromTo & { script: string }
  NATIVE_BINARY_ADDED: Path & { kind: string }
  OBFUSCATED_CODE: Path & { signals: string }
  SENSITIVE_FILE: Path & { reason: string }
  DEPENDENCY_ADDED: Dependency & { to?: string }
  DEPENDENCY_NON_REGISTRY: Dependency & { spec: string }
  BIN_CHANGED: { name: string; from?: string; to?: string }
  ENTRY_POINT_CHANGED: { field: string; from?: string; to?: string }
  ENTRY_POINT_MISSING: Path & { field: string }
  EXECUTABLE_ADDED: Path & { mode: string }
  NATIVE_BINARY_CHANGED: Path & { kind: string }
  MINIFIED_CODE: Path & { meanLine: number; longestLine: number; whitespacePct: number }
  LONG_LINE: Path & { line: number; length: number }
  /** `path` is a top-level file, or a folder ending in `/` holding `files` new files. */
  UNUSUAL_LOCATION: Path & { files: number }
  LOCKFILE_SHIPPED: Path
  DUPLICATE_PATH: Path
  SIZE_GROWTH: { from: number; to: number }
  VERSION_BACKWARDS: FromTo & { tag: string }
  VERSION_JUMP: FromTo & { part: 'major' | 'minor' | 'patch'; delta: number }
  VERSION_ALREADY_PUBLISHED: { version: string }
  PRERELEASE_ON_LATEST: { version: string }
  REF_TAG_MISMATCH: { ref: string; version: string }
  REF_BRANCH_NOT_DEFAULT: { branch: string; tag: string; expected: string }
  REF_PULL_REQUEST: { ref: string; tag: string }
  FIRST_RELEASE: { version: string }
  VERSION_MAJOR: StepArgs
  VERSION_MINOR: StepArgs
  VERSION_PATCH: StepArgs
  VERSION_PRERELEASE: StepArgs
  VERSION_BACKPORT: FromTo & { tag: string }
  FILES_ADDED: FileCount
  FILES_REMOVED: FileCount
  FILES_CHANGED: { count: number }
  SIZE_CHANGED: { from: number; to: number; delta: number }
  DEPENDENCY_REMOVED: Dependency & { from?: string }
  DEPENDENCY_CHANGED: Dependency & FromTo
  INSTALL_SCRIPT_REMOVED: { script: string; from: string }
}
export type FindingCode = keyof FindingArgsMap
export type FindingArgs<C extends FindingCode = FindingCode> = FindingArgsMap[C]

/** Every finding code and its severity. Codes are stable: policies and `--allow` name them. */
export const FINDINGS = {
  MANIFEST_MISMATCH: 'danger',
  MANIFEST_UNVERIFIED: 'danger',
  TRUST_DOWNGRADE: 'danger',
  PROVENANCE_UNVERIFIED: 'danger',
  PROVENANCE_MISMATCH: 'danger',
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
} as const satisfies { [C in FindingCode]: Severity }

export const FINDING_CODES = Object.keys(FINDINGS) as FindingCode[]
export const isFindingCode = (code: string): code is FindingCode => Object.hasOwn(FINDINGS, code)

/** A finding: a discriminated union over codes, so `f.code === 'X'` narrows `f.args` to X's arguments. */
export type Finding = { [C in FindingCode]: { code: C; severity: Severity; args: FindingArgsMap[C] } }[FindingCode]

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
  /** The trust evidence the release will carry, and what the version it is compared with carries. */
  trust?: { hop: ReleaseHop; release: ReleaseEvidence; baseline?: PublishedEvidence }
}

/**
 * How an approved release reaches the registry: `publish` (a direct publish with the approver's
 * credentials), `stage` (staged on the registry's own staging API and approved there with the
 * approver's second factor), or `native` (a release staged on the registry itself, approved there).
 */
export type ReleaseHop = 'publish' | 'stage' | 'native'

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
  /**
   * Trust evidence: what the published versions carry (from the packument) and what this release will
   * carry, given how it reaches the registry. Absent: not judged.
   */
  trust?: { hop: ReleaseHop; release: ReleaseEvidence; published: Array<{ version: string; evidence: PublishedEvidence }> }
  /** Record stores: the staged provenance bundle's verified facts with the record's claims, or why it did not verify. Absent: none was staged. */
  provenance?: ProvenanceReview
}

/** How the parts of a review report a finding; undefined arguments are dropped. A code without arguments needs none. */
export type Add = <C extends FindingCode>(
  code: C,
  ...args: Record<string, never> extends FindingArgsMap[C] ? [args?: FindingArgsMap[C]] : [args: FindingArgsMap[C]]
) => void
export type Manifest = TarballContents['manifest']
export type FileMap = Map<string, TarballFile>

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
export const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
export const normPath = (p: string): string => p.replace(/^\.\//, '').replace(/^\/+/, '')
