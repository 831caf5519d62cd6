/**
 * `stage-publish diff` as text: a title, then `diff -u` output per file (`patch -p1` applies it),
 * binary files summarised. File contents come from the tarball and are attacker-controlled: control
 * characters (escape sequences that could redraw the terminal, bidi overrides) are shown escaped,
 * tabs and newlines kept. The --json form keeps the raw text.
 */
import type { PackageDiff } from '../core/package-diff.js'
import type { Review } from '../core/review.js'
import { formatBytes } from './format.js'
import type { Style } from './output.js'

/** Like safe(), but keeps tabs and newlines, which a diff needs. */
const safeText = (text: string): string =>
  text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
  })

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
  return style('bold', safeText(`Diff of ${about.name}@${about.version} against ${against}`))
}

/** The patch alone ('' when no file differs), so `diff > x.patch` is what git apply and patch read. */
export function renderPackageDiff(diff: PackageDiff, style: Style): string {
  const out: string[] = []
  for (const f of diff.files) {
    const path = safeText(f.path)
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
    for (const line of safeText(f.diff).replace(/\n$/, '').split('\n')) out.push(colorLine(line, style))
  }
  return out.join('\n')
}
