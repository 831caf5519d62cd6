/**
 * `stage-publish diff` as text: a title, then `diff -u` output per file (`patch -p1` applies it),
 * binary files summarised. File contents come from the tarball and are attacker-controlled: control
 * characters (escape sequences that could redraw the terminal, bidi overrides) are shown escaped
 * (./sanitize.ts), tabs and newlines kept; a name or path can never start a line of its own. The --json form keeps the raw text.
 */
import type { PackageDiff } from '../core/package-diff.js'
import type { Review } from '../core/review.js'
import { formatBytes } from './format.js'
import { inline, sanitize } from './sanitize.js'
import type { Style } from './output.js'

function colorLine(line: string, style: Style): string {
  if (line.startsWith('+++ ') || line.startsWith('--- ')) return style('bold', line)
  if (line.startsWith('@@')) return style('cyan', line)
  if (line.startsWith('+')) return style('green', line)
  if (line.startsWith('-')) return style('red', line)
  return line
}

/** What is compared with what: prose, kept apart from the patch (stderr when stdout is a file). */
export function renderDiffTitle(about: { name: string; version: string; baseline: Review['baseline'] }, style: Style): string {
  const against =
    about.baseline.version === null
      ? 'nothing: first release, every file is new'
      : `${about.baseline.version} (${about.baseline.reason === 'tag' ? 'what the target tag points to' : 'the highest published version'})`
  return style('bold', `Diff of ${inline(about.name)}@${inline(about.version)} against ${inline(against)}`)
}

/** The patch alone ('' when no file differs), so `diff > x.patch` is what git apply and patch read. */
export function renderPackageDiff(diff: PackageDiff, style: Style): string {
  const out: string[] = []
  for (const f of diff.files) {
    const path = inline(f.path)
    const a = f.status === 'added' ? '/dev/null' : `a/${path}`
    const b = f.status === 'removed' ? '/dev/null' : `b/${path}`
    if (f.binary) {
      const sizes = f.status === 'changed' ? `${formatBytes(f.previousSize ?? 0)} → ${formatBytes(f.size ?? 0)}` : formatBytes(f.size ?? f.previousSize ?? 0)
      out.push(style('bold', `Binary files ${a} and ${b} differ`) + style('dim', ` (${f.status}, ${sizes})`))
      continue
    }
    if (!f.diff) {
      out.push(style('bold', `--- ${a}`), style('bold', `+++ ${b}`), style('dim', `(${f.status}, empty file)`))
      continue
    }
    // The core's own header names the file raw: a name with a line feed would forge diff lines, so it is rewritten with inline().
    const rawHeader = `--- ${f.status === 'added' ? '/dev/null' : `a/${f.path}`}\n+++ ${f.status === 'removed' ? '/dev/null' : `b/${f.path}`}\n`
    const body = f.diff.startsWith(rawHeader) ? `--- ${a}\n+++ ${b}\n${f.diff.slice(rawHeader.length)}` : f.diff
    for (const line of sanitize(body).replace(/\n$/, '').split('\n')) out.push(colorLine(line, style))
  }
  return out.join('\n')
}

/** What `diff` found (src/flows/diff.ts returns it; defined here because ui does not import flows). */
export interface DiffResult {
  id: string
  name: string
  version: string
  baseline: Review['baseline']
  diff: PackageDiff
}

/** --json: one entry per changed, added or removed file, with the raw text. */
export const diffJson = (result: DiffResult): unknown => ({ id: result.id, name: result.name, version: result.version, baseline: result.baseline, files: result.diff.files })

/** The human form: the title (prose), and either the patch or the sentence that no file differs. */
export function renderDiff(result: DiffResult, style: Style): { title: string; patch: string; none: string | null } {
  return {
    title: renderDiffTitle(result, style),
    patch: renderPackageDiff(result.diff, style),
    none: result.diff.files.length === 0 ? 'No file differs.' : null,
  }
}
