/**
 * The files: which were added, removed or changed, and the per-file risks. Name checks are cheap
 * and run on every file; byte checks run only on files that are new or changed, and text heuristics
 * (./heuristics.ts) only on code (binary files skipped). Pure.
 */
import type { TarballFile } from '../tarball-contents.js'
import { isBinary } from '../diff.js'
import { byPath, normPath, type Add, type FileChange, type FileMap, type Manifest, type Review } from './findings.js'
import { reviewCode } from './heuristics.js'
import { bins, dependencyMap, entryTargets } from './manifest.js'

export function indexFiles(files: TarballFile[], onDuplicate: (path: string) => void): FileMap {
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
export const sameBytes = (a: TarballFile, b: TarballFile): boolean => a.data.length === b.data.length && a.data.equals(b.data)

export function compareFiles(now: FileMap, before: FileMap): Review['files'] {
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

export function reviewFileRisks(sm: Manifest, now: FileMap, before: FileMap, add: Add): void {
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
