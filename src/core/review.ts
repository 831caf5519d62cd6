/**
 * What changed between the published version and the staged one, and what of it is risky:
 * the review an approver sees before the OTP prompt. Pure: bytes in, typed findings out.
 * Findings are codes with arguments (publint `src/shared/core.js` style); src/ui/render-review.ts
 * words them. Everything in a tarball is untrusted: it is measured, never executed or trusted.
 */
import semver from 'semver'
import type { TarballContents, TarballFile } from '../registry/tarball.js'
import { isBinary } from './diff.js'

export type Severity = 'info' | 'warn' | 'danger'
export const SEVERITIES: readonly Severity[] = ['info', 'warn', 'danger']
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

/** Every finding code and its severity. Codes are stable: policies and `--allow` name them. */
export const FINDINGS = {
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
}

/**
 * Which published version to compare with: the one the target tag points to, else the highest
 * published one (prereleases included), else none. Callers fetch that version, then call reviewRelease.
 */
export function chooseBaseline(input: {
  tag: string
  version: string
  distTags?: Record<string, string>
  publishedVersions?: string[]
}): Review['baseline'] {
  const tagged = input.distTags?.[input.tag]
  if (tagged && semver.valid(tagged) && tagged !== input.version) return { version: tagged, reason: 'tag' }
  const others = (input.publishedVersions ?? []).filter((v) => semver.valid(v) && v !== input.version)
  const highest = others.sort(semver.rcompare)[0]
  return highest ? { version: highest, reason: 'highest' } : { version: null, reason: 'first-release' }
}

export function reviewRelease(input: ReviewInput): Review {
  const findings: Finding[] = []
  const add = (code: FindingCode, args: Record<string, string | number | undefined> = {}): void => {
    const clean: FindingArgs = {}
    for (const [k, v] of Object.entries(args)) if (v !== undefined) clean[k] = v
    findings.push({ code, severity: FINDINGS[code], args: clean })
  }
  const { staged, previous } = input
  const sm = staged.manifest
  const pm = previous?.manifest
  const name = str(sm.name) ?? ''
  const version = str(sm.version) ?? ''
  const baseVersion = previous ? (input.previousVersion ?? str(pm?.version) ?? null) : null
  const baseline: Review['baseline'] =
    baseVersion === null
      ? { version: null, reason: 'first-release' }
      : { version: baseVersion, reason: input.distTags?.[input.tag] === baseVersion ? 'tag' : 'highest' }

  reviewVersion(version, baseline, input, add)
  reviewRef(name, version, input, add)

  const now = indexFiles(staged.files, (path) => add('DUPLICATE_PATH', { path }))
  const before = indexFiles(previous?.files ?? [], () => {})
  const files = compareFiles(now, before)
  const unpacked = sum(staged.files)
  const previousUnpacked = previous ? sum(previous.files) : undefined
  if (files.added.length) add('FILES_ADDED', { count: files.added.length, bytes: sumSizes(files.added, 'size') })
  if (files.removed.length) add('FILES_REMOVED', { count: files.removed.length, bytes: sumSizes(files.removed, 'previousSize') })
  if (files.changed.length) add('FILES_CHANGED', { count: files.changed.length })
  if (previousUnpacked !== undefined && previousUnpacked !== unpacked) {
    add('SIZE_CHANGED', { from: previousUnpacked, to: unpacked, delta: unpacked - previousUnpacked })
    // Doubling and at least 512 KiB more: room for a bundled payload, beyond ordinary growth.
    if (unpacked >= 2 * previousUnpacked && unpacked - previousUnpacked >= 512 * 1024) {
      add('SIZE_GROWTH', { from: previousUnpacked, to: unpacked })
    }
  }

  const dependencies = reviewManifest(sm, pm, now, before, add)
  reviewFileRisks(sm, now, before, add)

  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
  return {
    package: { name, version },
    baseline,
    files,
    size: {
      ...(input.packedSize === undefined ? {} : { packed: input.packedSize }),
      ...(input.previousPackedSize === undefined || !previous ? {} : { previousPacked: input.previousPackedSize }),
      unpacked,
      ...(previousUnpacked === undefined ? {} : { previousUnpacked }),
    },
    dependencies,
    findings,
  }
}

type Add = (code: FindingCode, args?: Record<string, string | number | undefined>) => void
type Manifest = TarballContents['manifest']
type FileMap = Map<string, TarballFile>

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
const sum = (files: TarballFile[]): number => files.reduce((n, f) => n + f.size, 0)
const sumSizes = (list: FileChange[], key: 'size' | 'previousSize'): number => list.reduce((n, f) => n + (f[key] ?? 0), 0)
const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
const normPath = (p: string): string => p.replace(/^\.\//, '').replace(/^\/+/, '')

function reviewVersion(version: string, baseline: Review['baseline'], input: ReviewInput, add: Add): void {
  if (input.publishedVersions?.includes(version) || baseline.version === version) add('VERSION_ALREADY_PUBLISHED', { version })
  if (input.tag === 'latest' && semver.prerelease(version)) add('PRERELEASE_ON_LATEST', { version })
  if (baseline.version === null) return add('FIRST_RELEASE', { version })
  const v = semver.parse(version)
  const b = semver.parse(baseline.version)
  if (!v || !b) return
  const from = b.version
  const order = semver.compare(v, b)
  if (order === 0) return
  if (order < 0) {
    // Below the highest version on another tag is a backport; below what the tag holds moves it back.
    if (baseline.reason === 'tag' || input.tag === 'latest') add('VERSION_BACKWARDS', { from, to: v.version, tag: input.tag })
    else add('VERSION_BACKPORT', { from, to: v.version, tag: input.tag })
    return
  }
  const step = semver.diff(b, v) ?? 'patch'
  const code = step === 'prerelease' ? 'VERSION_PRERELEASE' : step.endsWith('major') ? 'VERSION_MAJOR' : step.endsWith('minor') ? 'VERSION_MINOR' : 'VERSION_PATCH'
  add(code, { from, to: v.version, step })
  // Skipping versions is how a hijacker makes sure every `^` range picks theirs up and that it
  // outranks the maintainer's next release: two majors at once, or ten minors or patches.
  if (v.major - b.major >= 2) add('VERSION_JUMP', { from, to: v.version, part: 'major', delta: v.major - b.major })
  else if (v.major === b.major && v.minor - b.minor >= 10) add('VERSION_JUMP', { from, to: v.version, part: 'minor', delta: v.minor - b.minor })
  else if (v.major === b.major && v.minor === b.minor && v.patch - b.patch >= 10) {
    add('VERSION_JUMP', { from, to: v.version, part: 'patch', delta: v.patch - b.patch })
  }
}

/** A version at the end of a git tag: `v1.2.3`, `1.2.3`, `pkg@1.2.3`, `@scope/pkg@1.2.3`, `pkg-v1.2.3`. */
const TAG_VERSION_RE = /(?:^|[@/_-])v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/

function reviewRef(name: string, version: string, input: ReviewInput, add: Add): void {
  const ref = input.gitRef?.trim()
  if (!ref || ref === 'HEAD') return // a detached HEAD says nothing about where it came from
  if (/^refs\/(?:pull|merge-requests)\//.test(ref)) return add('REF_PULL_REQUEST', { ref, tag: input.tag })
  // Bare names are branches, unless they look like a version tag (GitLab's CI_COMMIT_REF_NAME is bare for both).
  const bareTag = !ref.startsWith('refs/') && TAG_VERSION_RE.test(ref)
  const gitTag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : bareTag ? ref : undefined
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref.startsWith('refs/') || bareTag ? undefined : ref
  if (gitTag !== undefined) {
    const m = TAG_VERSION_RE.exec(gitTag)
    // `other-pkg@2.0.0` in a monorepo belongs to another package: not ours to judge.
    const owner = gitTag.includes('@', 1) ? gitTag.slice(0, gitTag.lastIndexOf('@')) : undefined
    if (m?.[1] && (owner === undefined || owner === name) && semver.valid(m[1]) !== semver.valid(version)) {
      add('REF_TAG_MISMATCH', { ref: gitTag, version })
    }
  }
  if (branch !== undefined && input.tag === 'latest') {
    const defaults = input.defaultBranch ? [input.defaultBranch] : ['main', 'master']
    if (!defaults.includes(branch)) add('REF_BRANCH_NOT_DEFAULT', { branch, tag: input.tag, expected: defaults.join(', ') })
  }
}

function indexFiles(files: TarballFile[], onDuplicate: (path: string) => void): FileMap {
  // Later entries win, as they do when tar extracts: the review must show what lands on disk.
  const map: FileMap = new Map()
  for (const f of files) {
    if (map.has(f.path)) onDuplicate(f.path)
    map.set(f.path, f)
  }
  return map
}

/**
 * Sizes first; bytes only when sizes are equal. Both sides are in memory, so Buffer.equals
 * (a memcmp that stops at the first difference) is cheaper than hashing both.
 */
const sameBytes = (a: TarballFile, b: TarballFile): boolean => a.data.length === b.data.length && a.data.equals(b.data)

function compareFiles(now: FileMap, before: FileMap): Review['files'] {
  const added: FileChange[] = []
  const removed: FileChange[] = []
  const changed: FileChange[] = []
  for (const [path, f] of now) {
    const p = before.get(path)
    if (!p) added.push({ path, size: f.size })
    else if (!sameBytes(f, p)) changed.push({ path, size: f.size, previousSize: p.size })
  }
  for (const [path, p] of before) if (!now.has(path)) removed.push({ path, size: 0, previousSize: p.size })
  return { added: added.sort(byPath), removed: removed.sort(byPath), changed: changed.sort(byPath) }
}

/** Lifecycle scripts npm runs when someone installs the package (prepare ones for git installs). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'] as const
const ENTRY_FIELDS = ['main', 'module', 'types', 'typings', 'exports'] as const
const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const

function installScripts(m: Manifest, files: FileMap): Record<string, string> {
  const scripts = obj(m.scripts)
  const out: Record<string, string> = {}
  for (const s of INSTALL_SCRIPTS) {
    const cmd = str(scripts[s])
    if (cmd) out[s] = cmd
  }
  // npm runs `node-gyp rebuild` at install for a package with binding.gyp and no install script.
  if (!out.install && !out.preinstall && m.gypfile !== false && files.has('binding.gyp')) out.install = 'node-gyp rebuild'
  return out
}

function bins(m: Manifest): Record<string, string> {
  const name = str(m.name) ?? ''
  if (typeof m.bin === 'string') return { [name.replace(/^@[^/]+\//, '')]: normPath(m.bin) }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(obj(m.bin))) if (typeof v === 'string') out[k] = normPath(v)
  return out
}

function dependencyMap(m: Manifest, field: DependencyField): Record<string, string> {
  if (field !== 'bundleDependencies') {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(obj(m[field]))) if (typeof v === 'string') out[k] = v
    return out
  }
  const raw = m.bundleDependencies ?? m.bundledDependencies
  const names = raw === true ? Object.keys(obj(m.dependencies)) : Array.isArray(raw) ? raw.filter((n): n is string => typeof n === 'string') : []
  return Object.fromEntries(names.map((n) => [n, '']))
}

/** A spec npm resolves outside the registry (git, URL, file, GitHub shorthand, workspace:). */
function isNonRegistrySpec(spec: string): boolean {
  const s = spec.trim()
  if (s === '' || s.startsWith('npm:') || semver.validRange(s) !== null) return false
  return !/^[A-Za-z0-9][\w.-]*$/.test(s) // anything else that is not a dist-tag name
}

function reviewManifest(sm: Manifest, pm: Manifest | undefined, now: FileMap, before: FileMap, add: Add): DependencyChange[] {
  const hasBaseline = pm !== undefined
  const scriptsNow = installScripts(sm, now)
  const scriptsBefore = pm ? installScripts(pm, before) : {}
  for (const script of INSTALL_SCRIPTS) {
    const to = scriptsNow[script]
    const from = scriptsBefore[script]
    if (to !== undefined && from === undefined) add('INSTALL_SCRIPT_ADDED', { script, command: to })
    else if (to !== undefined && from !== undefined && to !== from) add('INSTALL_SCRIPT_CHANGED', { script, from, to })
    else if (to === undefined && from !== undefined) add('INSTALL_SCRIPT_REMOVED', { script, from })
  }

  const changes: DependencyChange[] = []
  for (const field of [...DEP_FIELDS, 'bundleDependencies'] as const) {
    const a = pm ? dependencyMap(pm, field) : {}
    const b = dependencyMap(sm, field)
    const bundle = field === 'bundleDependencies'
    for (const name of Object.keys(b).sort()) {
      const to = b[name] as string
      const from = a[name]
      if (from === undefined) changes.push({ field, name, ...(bundle ? {} : { to }), change: 'added' })
      else if (from !== to) changes.push({ field, name, from, to, change: 'changed' })
      else continue
      if (!bundle && isNonRegistrySpec(to)) add('DEPENDENCY_NON_REGISTRY', { field, name, spec: to })
      if (!hasBaseline) continue // a first release lists its dependencies, it does not flag each one
      if (from === undefined) add('DEPENDENCY_ADDED', { field, name, to: bundle ? undefined : to })
      else add('DEPENDENCY_CHANGED', { field, name, from, to })
    }
    for (const name of Object.keys(a).sort()) {
      if (name in b) continue
      const from = a[name] as string
      changes.push({ field, name, ...(bundle ? {} : { from }), change: 'removed' })
      add('DEPENDENCY_REMOVED', { field, name, from: bundle ? undefined : from })
    }
  }

  if (pm) {
    for (const field of ENTRY_FIELDS) {
      const from = pm[field] === undefined ? undefined : JSON.stringify(pm[field])
      const to = sm[field] === undefined ? undefined : JSON.stringify(sm[field])
      if (from !== to) add('ENTRY_POINT_CHANGED', { field, from, to })
    }
    const binBefore = bins(pm)
    const binNow = bins(sm)
    for (const name of [...new Set([...Object.keys(binBefore), ...Object.keys(binNow)])].sort()) {
      if (binBefore[name] !== binNow[name]) add('BIN_CHANGED', { name, from: binBefore[name], to: binNow[name] })
    }
  }
  for (const [field, path] of entryTargets(sm)) {
    if (!resolves(field, path, now)) add('ENTRY_POINT_MISSING', { field, path })
  }
  return changes
}

/** [field, path] for every file the manifest points at (wildcard exports patterns skipped). */
function entryTargets(m: Manifest): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const field of ['main', 'module', 'types', 'typings'] as const) {
    const p = str(m[field])
    if (p) out.push([field, normPath(p)])
  }
  for (const [name, p] of Object.entries(bins(m))) out.push([`bin.${name}`, p])
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (v.startsWith('./') && !v.includes('*') && !v.endsWith('/')) out.push(['exports', normPath(v)])
    } else if (v && typeof v === 'object' && depth < 8) for (const x of Object.values(v)) walk(x, depth + 1)
  }
  walk(m.exports, 0)
  return out
}

/** `main` resolves the way require() does (extensions, then index files); the rest are exact. */
function resolves(field: string, path: string, files: FileMap): boolean {
  if (field !== 'main') return files.has(path)
  const base = path.replace(/\/$/, '')
  return ['', '.js', '.json', '.node', '/index.js', '/index.json', '/index.node'].some((ext) => files.has(base + ext))
}

/* ------------------------------------------------------------------------------------------------
 * Per-file risks. Name checks are cheap and run on every file; byte checks run only on files that
 * are new or changed, and text heuristics only on code (binary files skipped).
 * ---------------------------------------------------------------------------------------------- */

/** Where package code usually lives. Anything else is fine when the previous version or `files` had it. */
const USUAL_DIRS = new Set(['dist', 'lib', 'build', 'out', 'es', 'esm', 'cjs', 'mjs', 'umd', 'src', 'source', 'bin', 'types', 'typings'])
const USUAL_ROOT_FILE =
  /^(?:package\.json|(?:readme|license|licence|copying|changelog|changes|history|notice|authors|contributors|security)(?:[.-].*)?|index\.(?:[cm]?js|json)|[^/]+\.d\.[cm]?ts)$/i
const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock'])

function sensitiveName(base: string): string | undefined {
  if (/^\.env$|\.env$|^\.env\.(?!example$|sample$|template$|dist$|defaults$|schema$).+/.test(base) && !/\.(?:[cm]?[jt]sx?|json)$/.test(base)) {
    return 'env-file'
  }
  if (base === '.npmrc' || base === '.yarnrc' || base === '.yarnrc.yml') return 'registry-config'
  if (['.netrc', '.git-credentials', '.pypirc', '.htpasswd'].includes(base)) return 'credentials'
  if (/^id_(?:rsa|dsa|ecdsa|ed25519)$/.test(base)) return 'ssh-private-key'
  if (/\.(?:p12|pfx|jks|keystore)$/i.test(base)) return 'keystore'
  return undefined
}

/** A PEM/PGP private-key header followed by key material (a lone header is just a parser's constant). */
function hasPrivateKey(buf: Buffer): boolean {
  for (const needle of ['PRIVATE KEY-----', 'PRIVATE KEY BLOCK-----']) {
    for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + 1)) {
      const tail = buf.subarray(i + needle.length, i + needle.length + 200).toString('latin1')
      if (/^(?:\\r|\\n|[\r\n\s"'+])+(?:[\w-]+: .*(?:\r?\n|\\n))*[A-Za-z0-9+/=]{64}/.test(tail)) return true
    }
  }
  return false
}

function nativeKind(f: TarballFile): string | undefined {
  if (f.path.endsWith('.node')) return 'node-addon'
  const d = f.data
  if (d.length < 8) return undefined
  const be = d.readUInt32BE(0)
  if (be === 0x7f454c46) return 'elf'
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(be)) return 'mach-o'
  // 0xCAFEBABE is a fat Mach-O, or a Java class; a fat header's next word is an arch count, a class's a version ≥ 45.
  if (be === 0xcafebabe && d.readUInt32BE(4) < 30) return 'mach-o'
  if (d[0] === 0x4d && d[1] === 0x5a && d.length >= 0x40) {
    const pe = d.readUInt32LE(0x3c)
    if (pe + 4 <= d.length && d.readUInt32BE(pe) === 0x50450000) return 'pe'
  }
  return undefined
}

const JS_RE = /\.[cm]?jsx?$/i
const SCRIPT_RE = /\.(?:[cm]?jsx?|[cm]?tsx?|sh|bash|zsh|ps1|bat|cmd|py|rb|pl|php)$/i
const isScript = (f: TarballFile): boolean =>
  (SCRIPT_RE.test(f.path) && !/\.d\.[cm]?ts$/i.test(f.path)) || (f.data[0] === 0x23 && f.data[1] === 0x21) // #!

function topKey(path: string): string {
  const slash = path.indexOf('/')
  return slash === -1 ? path : `${path.slice(0, slash)}/`
}

/** Top-level names the manifest's `files` allow-list names (simple globs on the first segment). */
function allowListed(m: Manifest): (key: string) => boolean {
  const patterns = (Array.isArray(m.files) ? m.files : [])
    .filter((p): p is string => typeof p === 'string' && !p.startsWith('!'))
    .map((p) => normPath(p).split('/')[0] ?? '')
    .filter(Boolean)
    .map((seg) => new RegExp(`^${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.')}/?$`))
  return (key) => patterns.some((re) => re.test(key))
}

function reviewFileRisks(sm: Manifest, now: FileMap, before: FileMap, add: Add): void {
  const binTargets = new Set(Object.values(bins(sm)))
  const previousTops = new Set([...before.keys()].map(topKey))
  const entryTops = new Set(entryTargets(sm).map(([, p]) => topKey(p)))
  const listed = allowListed(sm)
  const bundles = Object.keys(dependencyMap(sm, 'bundleDependencies')).length > 0
  const unusual = new Map<string, number>()

  for (const path of [...now.keys()].sort()) {
    const f = now.get(path) as TarballFile
    const prev = before.get(path)
    const isNew = prev === undefined
    const changed = isNew || !sameBytes(f, prev)
    const base = path.slice(path.lastIndexOf('/') + 1)

    const secret = sensitiveName(base) ?? (hasPrivateKey(f.data) ? 'private-key' : undefined)
    if (secret) add('SENSITIVE_FILE', { path, reason: secret })
    const lockfile = isNew && LOCKFILES.has(base)
    if (lockfile) add('LOCKFILE_SHIPPED', { path })
    // A secret or lock file is reported as such, not also as being in an odd place.
    if (isNew && !secret && !lockfile) {
      const key = topKey(path)
      const usual =
        (key.endsWith('/') ? USUAL_DIRS.has(key.slice(0, -1)) || (key === 'node_modules/' && bundles) : USUAL_ROOT_FILE.test(key)) ||
        previousTops.has(key) || entryTops.has(key) || listed(key)
      if (!usual) unusual.set(key, (unusual.get(key) ?? 0) + 1)
    }
    const native = changed ? nativeKind(f) : undefined
    if (native) {
      // An executable native binary is reported once, as a native binary.
      if (prev && nativeKind(prev)) add('NATIVE_BINARY_CHANGED', { path, kind: native })
      else add('NATIVE_BINARY_ADDED', { path, kind: native })
      continue
    }
    if (f.mode & 0o111 && !(prev && prev.mode & 0o111) && !binTargets.has(path)) {
      add('EXECUTABLE_ADDED', { path, mode: `0${(f.mode & 0o777).toString(8)}` })
    }
    if (!changed) continue
    if (!isScript(f) || isBinary(f.data)) continue
    reviewCode(path, f, prev, add)
  }
  for (const [key, files] of unusual) add('UNUSUAL_LOCATION', { path: key, files })
}

/* Text heuristics. Thresholds are in bytes; they were chosen so hand-written and prettier-formatted
 * code (lines of 30–120 bytes, 15–30% whitespace) stays far below them. */

/** A line this long is past anything written by hand or wrapped by a formatter (prettier: 80–120). */
const LONG_LINE = 1000
/** Mean line length of minified code: esbuild/terser output averages thousands; hand-written ~40. */
const MINIFIED_MEAN_LINE = 200
/** Whitespace share of minified code (~1–3%) against formatted code (15–30%), with a line ≥ 500. */
const MINIFIED_WHITESPACE = 0.05
/** Spaces or tabs between two pieces of code on one line: pushing code off-screen to hide it. */
const PADDING_RUN = 100
/** `_0x4a2f`-style names: javascript-obfuscator's default; neither people nor minifiers write them. */
const OBFUSCATOR_IDENTIFIERS = 10
/** Escapes making up ≥ 30% of a file of which ≥ 1,000 bytes are escapes: strings hidden as \xNN/\uNNNN. */
const ESCAPE_SHARE = 0.3
const ESCAPE_BYTES = 1000
/** A run of base64 alphabet this long, not in a `base64,` data URL: an encoded payload. */
const BASE64_RUN = 4096
/** eval/Function fed straight from a decoder, or Dean Edwards' packer. */
const DECODE_EVAL_RE =
  /\b(?:eval|Function)\s*\(\s*(?:atob|unescape|decodeURIComponent|Buffer\.from|String\.fromCharCode)\s*\(|\beval\s*\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,/

interface TextStats {
  bytes: number
  lines: number
  longestLine: number
  longestLineNo: number
  whitespace: number
  escapeBytes: number
  obfuscatorIds: number
  base64Run: number
  padding: number
  bidi: number
}

const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))

/** Byte classes, so the scan does one table lookup per byte instead of a chain of comparisons. */
const OTHER = 0
const B64 = 1 // A–Z a–z 0–9 + / =
const SPACE = 2 // space, tab, CR
const NEWLINE = 3
const BACKSLASH = 4
const UNDERSCORE = 5
const UTF8_E2 = 6 // first byte of U+2000–U+2FFF
const CLASS = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 47 && c <= 57) || c === 43 || c === 61) CLASS[c] = B64
}
CLASS[32] = CLASS[9] = CLASS[13] = SPACE
CLASS[10] = NEWLINE
CLASS[92] = BACKSLASH
CLASS[95] = UNDERSCORE
CLASS[0xe2] = UTF8_E2

/** Whether the bytes just before i are `base64,` (the end of a data: URL header). */
const afterDataUrlHeader = (d: Buffer, i: number): boolean =>
  i >= 7 && d[i - 1] === 44 && d[i - 2] === 52 && d[i - 3] === 54 && d[i - 4] === 101 && d[i - 5] === 115 && d[i - 6] === 97 && d[i - 7] === 98

/** One pass over the bytes, constant work per byte: linear whatever the content. */
function scanText(d: Buffer): TextStats {
  const s: TextStats = { bytes: d.length, lines: 1, longestLine: 0, longestLineNo: 1, whitespace: 0, escapeBytes: 0, obfuscatorIds: 0, base64Run: 0, padding: 0, bidi: 0 }
  let lineStart = 0
  let wsRun = 0
  let codeOnLine = false
  let run = 0
  let runIsDataUrl = false
  const n = d.length
  for (let i = 0; i < n; i++) {
    const k = CLASS[d[i] as number]
    if (k === B64) {
      if (run === 0) runIsDataUrl = afterDataUrlHeader(d, i)
      run++
      if (wsRun !== 0) {
        if (wsRun >= PADDING_RUN && codeOnLine) s.padding++
        wsRun = 0
      }
      codeOnLine = true
      continue
    }
    if (run !== 0) {
      if (run > s.base64Run && !runIsDataUrl) s.base64Run = run
      run = 0
    }
    if (k === SPACE) {
      s.whitespace++
      wsRun++
      continue
    }
    if (k === NEWLINE) {
      s.whitespace++
      if (i - lineStart > s.longestLine) {
        s.longestLine = i - lineStart
        s.longestLineNo = s.lines
      }
      s.lines++
      lineStart = i + 1
      wsRun = 0
      codeOnLine = false
      continue
    }
    if (wsRun !== 0) {
      if (wsRun >= PADDING_RUN && codeOnLine) s.padding++
      wsRun = 0
    }
    codeOnLine = true
    if (k === BACKSLASH) {
      const e = d[i + 1]
      if (e === 120 && isHex(d[i + 2]) && isHex(d[i + 3])) s.escapeBytes += 4
      else if (e === 117 && isHex(d[i + 2]) && isHex(d[i + 3]) && isHex(d[i + 4]) && isHex(d[i + 5])) s.escapeBytes += 6
    } else if (k === UNDERSCORE) {
      if (d[i + 1] === 48 && d[i + 2] === 120 && isHex(d[i + 3]) && isHex(d[i + 4]) && isHex(d[i + 5]) && isHex(d[i + 6])) s.obfuscatorIds++
    } else if (k === UTF8_E2) {
      // UTF-8 of U+202A–U+202E and U+2066–U+2069, the bidi overrides of "Trojan Source" (CVE-2021-42574).
      const c1 = d[i + 1]
      const c2 = d[i + 2] ?? 0
      if ((c1 === 0x80 && c2 >= 0xaa && c2 <= 0xae) || (c1 === 0x81 && c2 >= 0xa6 && c2 <= 0xa9)) s.bidi++
    }
  }
  if (run > s.base64Run && !runIsDataUrl) s.base64Run = run
  if (n - lineStart > s.longestLine) {
    s.longestLine = n - lineStart
    s.longestLineNo = s.lines
  }
  return s
}

const looksMinified = (s: TextStats): boolean =>
  s.bytes >= 512 && (s.bytes / s.lines >= MINIFIED_MEAN_LINE || (s.longestLine >= 500 && s.whitespace / s.bytes < MINIFIED_WHITESPACE))

function obfuscationSignals(s: TextStats, d: Buffer): string[] {
  const out: string[] = []
  if (s.obfuscatorIds >= OBFUSCATOR_IDENTIFIERS) out.push('obfuscator-identifiers')
  if (s.escapeBytes >= ESCAPE_BYTES && s.escapeBytes / s.bytes >= ESCAPE_SHARE) out.push('escape-density')
  if (s.base64Run >= BASE64_RUN) out.push('base64-blob')
  if (s.padding > 0) out.push('whitespace-padding')
  if (s.bidi > 0) out.push('bidi-control')
  // The regex only runs on files that mention eval or Function at all (a native byte search).
  if ((d.includes('eval') || d.includes('Function')) && DECODE_EVAL_RE.test(d.toString('latin1'))) out.push('eval-of-decoded')
  return out
}

/** Code heuristics for a new or changed file; a property the published file already had is not news. */
function reviewCode(path: string, f: TarballFile, prev: TarballFile | undefined, add: Add): void {
  const s = scanText(f.data)
  let p: TextStats | null | undefined // computed only when needed; null = no usable previous text
  const previous = (): TextStats | null => (p ??= prev && !isBinary(prev.data) ? scanText(prev.data) : null)

  const signals = obfuscationSignals(s, f.data)
  if (signals.length) {
    const before = previous() && prev ? obfuscationSignals(previous() as TextStats, prev.data) : []
    const fresh = signals.filter((x) => !before.includes(x))
    if (fresh.length) add('OBFUSCATED_CODE', { path, signals: fresh.join(',') })
  }
  if (JS_RE.test(path) && looksMinified(s)) {
    const b = previous()
    if (!b || !looksMinified(b)) {
      add('MINIFIED_CODE', {
        path,
        longestLine: s.longestLine,
        meanLine: Math.round(s.bytes / s.lines),
        whitespacePct: Math.round((100 * s.whitespace) / s.bytes),
      })
    }
  } else if (s.longestLine >= LONG_LINE && !((previous()?.longestLine ?? 0) >= LONG_LINE)) {
    add('LONG_LINE', { path, line: s.longestLineNo, length: s.longestLine })
  }
}
