/**
 * Words a review for the approver. The core returns codes and arguments; every sentence lives here.
 * Styling comes in as a function so this stays testable; output.ts passes one backed by chalk.
 * Paths, commands and specs come from the tarball and are attacker-controlled: every one is passed
 * through `inline()` (./sanitize.ts) so escape sequences or bidi characters cannot redraw or reorder the screen.
 */
import { severityRank, type Finding, type FindingArgsMap, type FindingCode, type ReleaseHop, type Review, type Severity } from '../core/review.js'
import { EVIDENCE_KINDS, type EvidenceKind } from '../core/trust-evidence.js'
import { formatBytes } from './format.js'
import type { Style as OutputStyle } from './output.js'
import { inline } from './sanitize.js'

export type Style = Severity | 'heading' | 'dim' | 'added' | 'removed' | 'changed'
export interface RenderOptions {
  color: (style: Style, text: string) => string
  /** Files listed per group (added, removed, changed) before "… and N more". */
  maxFiles?: number
}

const REVIEW_STYLES: { [S in Style]: (style: OutputStyle, text: string) => string } = {
  danger: (style, text) => style('bold', style('red', text)),
  warn: (style, text) => style('yellow', text),
  info: (style, text) => style('cyan', text),
  heading: (style, text) => style('bold', text),
  dim: (style, text) => style('dim', text),
  added: (style, text) => style('green', text),
  removed: (style, text) => style('red', text),
  changed: (style, text) => style('yellow', text),
}

/** The review's styles in terms of the output's colours (chalk stays in output.ts). */
export const reviewColors =
  (style: OutputStyle): RenderOptions['color'] =>
  (name, text) =>
    REVIEW_STYLES[name](style, text)

/** The old name of inline(), kept for callers of this module. */
export const safe = inline

const clip = (text: string, max = 300): string => (text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text)

const signedBytes = (n: number): string => (n >= 0 ? `+${formatBytes(n)}` : `-${formatBytes(-n)}`)
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** An argument for wording: tarball text goes through inline(). */
const s = (v: string | number): string => inline(String(v))
/** An optional argument counts as present when it is there and not empty. */
const has = (v: string | undefined): v is string => v !== undefined && v !== ''

const FIELD_WORDS: Record<string, string> = {
  dependencies: 'dependency',
  optionalDependencies: 'optional dependency',
  peerDependencies: 'peer dependency',
  bundleDependencies: 'bundled dependency',
}
const field = (a: { field: string }): string => FIELD_WORDS[a.field] ?? s(a.field)

const NATIVE_KINDS: Record<string, string> = {
  'node-addon': 'Node.js addon',
  elf: 'ELF executable or library (Linux)',
  'mach-o': 'Mach-O executable or library (macOS)',
  pe: 'PE executable or DLL (Windows)',
}
const SIGNALS: Record<string, string> = {
  'obfuscator-identifiers': '_0x… names typical of javascript-obfuscator',
  'escape-density': 'text mostly written as \\x/\\u escapes',
  'base64-blob': 'a long base64 blob',
  'whitespace-padding': 'code pushed off-screen by a long run of spaces',
  'bidi-control': 'Unicode bidi controls that reorder how code reads (Trojan Source)',
  'eval-of-decoded': 'eval/Function run on decoded text',
}
const SECRET_REASONS: Record<string, string> = {
  'env-file': 'an environment file, which usually holds secrets',
  'registry-config': 'a registry configuration, which may hold an auth token',
  credentials: 'a credentials file',
  'ssh-private-key': 'an SSH private key',
  keystore: 'a key store',
  'private-key': 'it contains a private key',
}
const STEP_WORDS: Record<string, string> = { premajor: 'major prerelease', preminor: 'minor prerelease', prepatch: 'patch prerelease' }
const step = (a: FindingArgsMap['VERSION_MAJOR'], kind: string): string => `${STEP_WORDS[a.step] ?? kind} step: ${s(a.from)} → ${s(a.to)}`

const HOP_WORDS: Record<ReleaseHop, string> = {
  publish: 'published directly with your credentials',
  stage: 'staged on the registry and approved there by you',
  native: 'approved on the registry it was staged on',
}
const PNPM = "pnpm's trustPolicy: no-downgrade refuses to install a version with weaker evidence than earlier ones"

/** TRUST_DOWNGRADE, by what is missing: what the earlier version has, how this one would go out, and the way to keep it. */
const TRUST_WORDING: Record<EvidenceKind, (version: string, hop: ReleaseHop) => string> = {
  provenance: (v, hop) =>
    `${v} was published with a provenance attestation; this release has no verified provenance bundle and would be ${HOP_WORDS[hop]} without one. ${PNPM}. ` +
    'Provenance is made in CI for the exact staged bytes: stage it again with --provenance (or --provenance-file)',
  trustedPublisher: (v, hop) =>
    `${v} was published by a trusted publisher (CI through OIDC); this release would be ${HOP_WORDS[hop]}, which never records one. ${PNPM}. ` +
    'Only CI can keep it: stage on the registry itself from CI with trusted publishing (--backend registry) and approve it there',
  approver: (v, hop) =>
    `${v} records the person who approved it through the registry's staging; this release would be ${HOP_WORDS[hop]} and record none. ` +
    "Installers that compare trust evidence (as pnpm's trustPolicy: no-downgrade does) would see weaker evidence. " +
    'Approve it with --final-hop stage on a registry that implements npm\'s staging API, or stage it there (--backend registry)',
}

const EVIDENCE_WORDS: Record<EvidenceKind, string> = { provenance: 'provenance', trustedPublisher: 'trusted publisher', approver: 'recorded approver' }

/** The trust evidence lines of a review: what the release will carry, and what the version compared with carries. */
export function renderTrust(trust: NonNullable<Review['trust']>, baselineVersion: string | null, color: RenderOptions['color']): string[] {
  const value = (v: boolean | 'unknown'): string => (v === 'unknown' ? 'unknown' : v ? 'yes' : 'no')
  const lines = [
    `${color('heading', 'Trust evidence:')} this release, ${HOP_WORDS[trust.hop]}, will carry ` +
      EVIDENCE_KINDS.map((k) => `${EVIDENCE_WORDS[k]}: ${value(trust.release[k])}`).join(', '),
  ]
  if (trust.baseline && baselineVersion !== null) {
    const kinds = EVIDENCE_KINDS.filter((k) => trust.baseline?.[k])
    const detail = (k: EvidenceKind): string => {
      const d = trust.baseline?.[k]?.detail
      return d ? `${EVIDENCE_WORDS[k]} (${inline(d)})` : EVIDENCE_WORDS[k]
    }
    lines.push(`  ${inline(baselineVersion)} carries ${kinds.length ? kinds.map(detail).join(', ') : 'none of them'}`)
  }
  return lines
}

/** One sentence per code. Typed as a complete map, so a new code without wording does not compile. */
export const FINDING_WORDING: { [C in FindingCode]: (a: FindingArgsMap[C]) => string } = {
  MANIFEST_MISMATCH: (a) =>
    `The registry holds a manifest that differs from the package.json in the tarball on ${s(a.fields)}: npm would install by the registry's, which you cannot review here`,
  MANIFEST_UNVERIFIED: () =>
    'The registry does not show the manifest it will publish (npm installs by it), so nobody can check it against the tarball\'s package.json before approval; it is compared after publishing',
  TRUST_DOWNGRADE: (a) => TRUST_WORDING[a.evidence](s(a.version), a.hop),
  PROVENANCE_UNVERIFIED: (a) =>
    `The provenance staged with this release cannot be published with it: ${s(a.reason)}. Allowed by name, the release is published without provenance`,
  PROVENANCE_MISMATCH: (a) =>
    `The verified provenance says ${s(a.field)} ${s(a.provenance)}, but the record claims ${s(a.record)}: the release was not built where the record says`,
  INSTALL_SCRIPT_ADDED: (a) => `New install script "${s(a.script)}" runs on every install: ${s(a.command)}`,
  INSTALL_SCRIPT_CHANGED: (a) => `Install script "${s(a.script)}" changed: ${s(a.from)} → ${s(a.to)}`,
  NATIVE_BINARY_ADDED: (a) => `New native binary ${s(a.path)} (${NATIVE_KINDS[s(a.kind)] ?? s(a.kind)}): its code cannot be reviewed`,
  OBFUSCATED_CODE: (a) =>
    `${s(a.path)} looks obfuscated: ${s(a.signals).split(',').map((x) => SIGNALS[x] ?? x).join('; ')}`,
  SENSITIVE_FILE: (a) => `${s(a.path)} should not be published: ${SECRET_REASONS[s(a.reason)] ?? s(a.reason)}`,
  DEPENDENCY_ADDED: (a) => `New ${field(a)} ${s(a.name)}${has(a.to) ? ` ${s(a.to)}` : ''}`,
  DEPENDENCY_NON_REGISTRY: (a) => `The ${field(a)} ${s(a.name)} comes from outside the registry: ${s(a.spec)}`,
  BIN_CHANGED: (a) =>
    !has(a.from)
      ? `New command "${s(a.name)}" runs ${s(a.to ?? '')}`
      : !has(a.to)
        ? `Command "${s(a.name)}" (${s(a.from)}) removed`
        : `Command "${s(a.name)}" now runs ${s(a.to)} instead of ${s(a.from)}`,
  ENTRY_POINT_CHANGED: (a) =>
    `"${s(a.field)}" changed: ${has(a.from) ? clip(s(a.from)) : '(unset)'} → ${has(a.to) ? clip(s(a.to)) : '(unset)'}`,
  ENTRY_POINT_MISSING: (a) => `"${s(a.field)}" points to ${s(a.path)}, which is not in the package`,
  EXECUTABLE_ADDED: (a) => `${s(a.path)} is newly executable (mode ${s(a.mode)})`,
  NATIVE_BINARY_CHANGED: (a) => `Native binary ${s(a.path)} changed (${NATIVE_KINDS[s(a.kind)] ?? s(a.kind)})`,
  MINIFIED_CODE: (a) =>
    `${s(a.path)} looks minified (lines average ${a.meanLine} bytes, longest ${a.longestLine}, ${a.whitespacePct}% whitespace): it cannot be reviewed by reading`,
  LONG_LINE: (a) => `${s(a.path)} has a ${a.length}-byte line (line ${a.line}), long enough to hide code`,
  UNUSUAL_LOCATION: (a) =>
    s(a.path).endsWith('/')
      ? `${plural(a.files, 'new file')} in ${s(a.path)}, outside the folders packages usually ship`
      : `New file ${s(a.path)} at the top level, outside the folders packages usually ship`,
  LOCKFILE_SHIPPED: (a) => `Lock file ${s(a.path)} is now part of the package`,
  DUPLICATE_PATH: (a) => `${s(a.path)} appears more than once in the tarball; the last copy is the one installed`,
  SIZE_GROWTH: (a) => `Unpacked size more than doubled: ${formatBytes(a.from)} → ${formatBytes(a.to)}`,
  VERSION_BACKWARDS: (a) => `Version goes backwards on "${s(a.tag)}": ${s(a.from)} → ${s(a.to)}`,
  VERSION_JUMP: (a) => `Version skips ahead by ${a.delta} ${s(a.part)} versions: ${s(a.from)} → ${s(a.to)}`,
  VERSION_ALREADY_PUBLISHED: (a) => `${s(a.version)} is already published; the registry will refuse it`,
  PRERELEASE_ON_LATEST: (a) => `Prerelease ${s(a.version)} would become "latest", the version every user installs`,
  REF_TAG_MISMATCH: (a) => `Staged from git tag ${s(a.ref)}, but the package version is ${s(a.version)}`,
  REF_BRANCH_NOT_DEFAULT: (a) => `Tagged "${s(a.tag)}" but staged from branch ${s(a.branch)} (expected ${s(a.expected)})`,
  REF_PULL_REQUEST: (a) => `Staged from a pull request (${s(a.ref)}), for tag "${s(a.tag)}"`,
  FIRST_RELEASE: (a) => `First release (${s(a.version)}): there is no published version to compare with`,
  VERSION_MAJOR: (a) => step(a, 'Major'),
  VERSION_MINOR: (a) => step(a, 'Minor'),
  VERSION_PATCH: (a) => step(a, 'Patch'),
  VERSION_PRERELEASE: (a) => step(a, 'Prerelease'),
  VERSION_BACKPORT: (a) => `Backport on "${s(a.tag)}": ${s(a.to)} is below the highest published ${s(a.from)}`,
  FILES_ADDED: (a) => `${plural(a.count, 'file')} added (${formatBytes(a.bytes)})`,
  FILES_REMOVED: (a) => `${plural(a.count, 'file')} removed (${formatBytes(a.bytes)})`,
  FILES_CHANGED: (a) => `${plural(a.count, 'file')} changed`,
  SIZE_CHANGED: (a) => `Unpacked size ${formatBytes(a.from)} → ${formatBytes(a.to)} (${signedBytes(a.delta)})`,
  DEPENDENCY_REMOVED: (a) => `Removed ${field(a)} ${s(a.name)}`,
  DEPENDENCY_CHANGED: (a) => `The ${field(a)} ${s(a.name)} changed: ${s(a.from)} → ${s(a.to)}`,
  INSTALL_SCRIPT_REMOVED: (a) => `Install script "${s(a.script)}" removed (it ran: ${s(a.from)})`,
}

/** The sentence for one finding, unstyled. */
export const describeFinding = (f: Finding): string => word(f.code, f.args)
// The union is correlated by code; TypeScript cannot see that through an index, hence the generic.
const word = <C extends FindingCode>(code: C, args: FindingArgsMap[C]): string => (FINDING_WORDING[code] as (a: FindingArgsMap[C]) => string)(args)

const LABELS: Record<Severity, string> = { danger: 'DANGER', warn: 'WARN  ', info: 'info  ' }

export function renderReview(review: Review, options: RenderOptions): string {
  const { color } = options
  const max = options.maxFiles ?? 20
  const out: string[] = []
  const { baseline } = review
  const against =
    baseline.version === null
      ? 'first release, nothing published to compare with'
      : `compared with ${inline(baseline.version)} (${baseline.reason === 'tag' ? 'what the target tag points to' : 'the highest published version'})`
  out.push(`${color('heading', `Review of ${inline(review.package.name)}@${inline(review.package.version)}`)} ${color('dim', against)}`, '')

  // Danger first, then warnings, then notes; the core already sorts, this keeps it so for any input.
  const findings = [...review.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length
  out.push(color('heading', `Findings: ${plural(count('danger'), 'danger')}, ${plural(count('warn'), 'warning')}, ${plural(count('info'), 'note')}`))
  if (findings.length === 0) out.push(color('dim', '  none'))
  for (const f of findings) {
    out.push(`  ${color(f.severity, LABELS[f.severity])} ${describeFinding(f)} ${color('dim', `[${inline(f.code)}]`)}`)
  }

  if (review.trust) out.push('', ...renderTrust(review.trust, baseline.version, color))

  const { added, removed, changed } = review.files
  out.push('', color('heading', `Files: ${added.length} added, ${removed.length} removed, ${changed.length} changed`))
  const list = <T>(items: T[], line: (item: T) => string): void => {
    for (const item of items.slice(0, max)) out.push(line(item))
    if (items.length > max) out.push(color('dim', `  … and ${items.length - max} more (--json lists them all)`))
  }
  list(added, (f) => `  ${color('added', '+')} ${inline(f.path)} ${color('dim', formatBytes(f.size))}`)
  list(removed, (f) => `  ${color('removed', '-')} ${inline(f.path)} ${color('dim', formatBytes(f.previousSize ?? 0))}`)
  list(changed, (f) => {
    const before = f.previousSize ?? f.size
    return `  ${color('changed', '~')} ${inline(f.path)} ${color('dim', `${formatBytes(before)} → ${formatBytes(f.size)} (${signedBytes(f.size - before)})`)}`
  })

  const { size } = review
  const sizes = [sizeLine('unpacked', size.unpacked, size.previousUnpacked)]
  if (size.packed !== undefined) sizes.push(sizeLine('packed', size.packed, size.previousPacked))
  out.push('', `${color('heading', 'Size:')} ${sizes.join(', ')}`)

  if (review.dependencies.length) {
    out.push('', color('heading', 'Dependencies:'))
    for (const d of review.dependencies) {
      const mark = d.change === 'added' ? color('added', '+') : d.change === 'removed' ? color('removed', '-') : color('changed', '~')
      const spec = d.change === 'changed' ? `${inline(d.from ?? '')} → ${inline(d.to ?? '')}` : inline(d.to ?? d.from ?? '')
      out.push(`  ${mark} ${inline(d.name)} ${spec} ${color('dim', `(${FIELD_WORDS[d.field] ?? inline(d.field)})`)}`.trimEnd())
    }
  }
  return `${out.join('\n')}\n`
}

function sizeLine(what: string, now: number, before: number | undefined): string {
  if (before === undefined || before === now) return `${what} ${formatBytes(now)}`
  return `${what} ${formatBytes(before)} → ${formatBytes(now)} (${signedBytes(now - before)})`
}
