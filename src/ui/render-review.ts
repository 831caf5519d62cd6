/**
 * Words a review for the approver. The core returns codes and arguments; every sentence lives here.
 * Styling comes in as a function so this stays testable; output.ts passes one backed by chalk.
 * Paths, commands and specs come from the tarball and are attacker-controlled: every one is passed
 * through `inline()` (./sanitize.ts) so escape sequences or bidi characters cannot redraw or reorder the screen.
 */
import { severityRank, type Finding, type FindingArgs, type FindingCode, type Review, type Severity } from '../core/review.js'
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

export function formatBytes(n: number): string {
  const abs = Math.abs(n)
  if (abs < 1000) return `${n} B`
  if (abs < 1000 ** 2) return `${(n / 1000).toFixed(1)} kB`
  return `${(n / 1000 ** 2).toFixed(1)} MB`
}
const signedBytes = (n: number): string => (n >= 0 ? `+${formatBytes(n)}` : `-${formatBytes(-n)}`)
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** Reads arguments for wording: strings go through inline(); a missing one shows as "?" rather than "undefined". */
function reader(args: FindingArgs) {
  const raw = (k: string): string | number | undefined => args[k]
  return {
    s: (k: string): string => inline(String(raw(k) ?? '?')),
    n: (k: string): number => Number(raw(k) ?? 0),
    has: (k: string): boolean => raw(k) !== undefined && raw(k) !== '',
  }
}
type Args = ReturnType<typeof reader>

const FIELD_WORDS: Record<string, string> = {
  dependencies: 'dependency',
  optionalDependencies: 'optional dependency',
  peerDependencies: 'peer dependency',
  bundleDependencies: 'bundled dependency',
}
const field = (a: Args): string => FIELD_WORDS[a.s('field')] ?? a.s('field')

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
const step = (a: Args, kind: string): string => `${STEP_WORDS[a.s('step')] ?? kind} step: ${a.s('from')} → ${a.s('to')}`

/** One sentence per code. Typed as a complete map, so a new code without wording does not compile. */
export const FINDING_WORDING: { [C in FindingCode]: (a: Args) => string } = {
  MANIFEST_MISMATCH: (a) =>
    `The registry holds a manifest that differs from the package.json in the tarball on ${a.s('fields')}: npm would install by the registry's, which you cannot review here`,
  MANIFEST_UNVERIFIED: () =>
    'The registry does not show the manifest it will publish (npm installs by it), so nobody can check it against the tarball\'s package.json before approval; it is compared after publishing',
  INSTALL_SCRIPT_ADDED: (a) => `New install script "${a.s('script')}" runs on every install: ${a.s('command')}`,
  INSTALL_SCRIPT_CHANGED: (a) => `Install script "${a.s('script')}" changed: ${a.s('from')} → ${a.s('to')}`,
  NATIVE_BINARY_ADDED: (a) => `New native binary ${a.s('path')} (${NATIVE_KINDS[a.s('kind')] ?? a.s('kind')}): its code cannot be reviewed`,
  OBFUSCATED_CODE: (a) =>
    `${a.s('path')} looks obfuscated: ${a.s('signals').split(',').map((x) => SIGNALS[x] ?? x).join('; ')}`,
  SENSITIVE_FILE: (a) => `${a.s('path')} should not be published: ${SECRET_REASONS[a.s('reason')] ?? a.s('reason')}`,
  DEPENDENCY_ADDED: (a) => `New ${field(a)} ${a.s('name')}${a.has('to') ? ` ${a.s('to')}` : ''}`,
  DEPENDENCY_NON_REGISTRY: (a) => `The ${field(a)} ${a.s('name')} comes from outside the registry: ${a.s('spec')}`,
  BIN_CHANGED: (a) =>
    !a.has('from')
      ? `New command "${a.s('name')}" runs ${a.s('to')}`
      : !a.has('to')
        ? `Command "${a.s('name')}" (${a.s('from')}) removed`
        : `Command "${a.s('name')}" now runs ${a.s('to')} instead of ${a.s('from')}`,
  ENTRY_POINT_CHANGED: (a) =>
    `"${a.s('field')}" changed: ${a.has('from') ? clip(a.s('from')) : '(unset)'} → ${a.has('to') ? clip(a.s('to')) : '(unset)'}`,
  ENTRY_POINT_MISSING: (a) => `"${a.s('field')}" points to ${a.s('path')}, which is not in the package`,
  EXECUTABLE_ADDED: (a) => `${a.s('path')} is newly executable (mode ${a.s('mode')})`,
  NATIVE_BINARY_CHANGED: (a) => `Native binary ${a.s('path')} changed (${NATIVE_KINDS[a.s('kind')] ?? a.s('kind')})`,
  MINIFIED_CODE: (a) =>
    `${a.s('path')} looks minified (lines average ${a.n('meanLine')} bytes, longest ${a.n('longestLine')}, ${a.n('whitespacePct')}% whitespace): it cannot be reviewed by reading`,
  LONG_LINE: (a) => `${a.s('path')} has a ${a.n('length')}-byte line (line ${a.n('line')}), long enough to hide code`,
  UNUSUAL_LOCATION: (a) =>
    a.s('path').endsWith('/')
      ? `${plural(a.n('files'), 'new file')} in ${a.s('path')}, outside the folders packages usually ship`
      : `New file ${a.s('path')} at the top level, outside the folders packages usually ship`,
  LOCKFILE_SHIPPED: (a) => `Lock file ${a.s('path')} is now part of the package`,
  DUPLICATE_PATH: (a) => `${a.s('path')} appears more than once in the tarball; the last copy is the one installed`,
  SIZE_GROWTH: (a) => `Unpacked size more than doubled: ${formatBytes(a.n('from'))} → ${formatBytes(a.n('to'))}`,
  VERSION_BACKWARDS: (a) => `Version goes backwards on "${a.s('tag')}": ${a.s('from')} → ${a.s('to')}`,
  VERSION_JUMP: (a) => `Version skips ahead by ${a.n('delta')} ${a.s('part')} versions: ${a.s('from')} → ${a.s('to')}`,
  VERSION_ALREADY_PUBLISHED: (a) => `${a.s('version')} is already published; the registry will refuse it`,
  PRERELEASE_ON_LATEST: (a) => `Prerelease ${a.s('version')} would become "latest", the version every user installs`,
  REF_TAG_MISMATCH: (a) => `Staged from git tag ${a.s('ref')}, but the package version is ${a.s('version')}`,
  REF_BRANCH_NOT_DEFAULT: (a) => `Tagged "${a.s('tag')}" but staged from branch ${a.s('branch')} (expected ${a.s('expected')})`,
  REF_PULL_REQUEST: (a) => `Staged from a pull request (${a.s('ref')}), for tag "${a.s('tag')}"`,
  FIRST_RELEASE: (a) => `First release (${a.s('version')}): there is no published version to compare with`,
  VERSION_MAJOR: (a) => step(a, 'Major'),
  VERSION_MINOR: (a) => step(a, 'Minor'),
  VERSION_PATCH: (a) => step(a, 'Patch'),
  VERSION_PRERELEASE: (a) => step(a, 'Prerelease'),
  VERSION_BACKPORT: (a) => `Backport on "${a.s('tag')}": ${a.s('to')} is below the highest published ${a.s('from')}`,
  FILES_ADDED: (a) => `${plural(a.n('count'), 'file')} added (${formatBytes(a.n('bytes'))})`,
  FILES_REMOVED: (a) => `${plural(a.n('count'), 'file')} removed (${formatBytes(a.n('bytes'))})`,
  FILES_CHANGED: (a) => `${plural(a.n('count'), 'file')} changed`,
  SIZE_CHANGED: (a) => `Unpacked size ${formatBytes(a.n('from'))} → ${formatBytes(a.n('to'))} (${signedBytes(a.n('delta'))})`,
  DEPENDENCY_REMOVED: (a) => `Removed ${field(a)} ${a.s('name')}`,
  DEPENDENCY_CHANGED: (a) => `The ${field(a)} ${a.s('name')} changed: ${a.s('from')} → ${a.s('to')}`,
  INSTALL_SCRIPT_REMOVED: (a) => `Install script "${a.s('script')}" removed (it ran: ${a.s('from')})`,
}

/** The sentence for one finding, unstyled. */
export const describeFinding = (f: Finding): string => FINDING_WORDING[f.code](reader(f.args))

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
