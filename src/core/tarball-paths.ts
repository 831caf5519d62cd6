/**
 * The rules for entry names in a package tarball, without any I/O.
 *
 * A staged tarball must look like what `npm pack` writes: every entry under `package/`, plain
 * relative names of printable characters, no `.git` folder at the root (npm-packlist always leaves
 * it out, and npm's publish would follow the `ref:` in its HEAD to any file on the approver's disk
 * to fill in `gitHead`). A published baseline from a registry may be older and use another
 * top-level folder name; an entry that breaks a rule there is skipped, as npm skips it on install.
 *
 * Two names are the same file when they are equal after Unicode NFC normalisation and case
 * folding: macOS and Windows file systems put them in one file, so a reviewer on Linux and an
 * installer on a Mac would see different packages.
 */

export type TarballKind = 'staged' | 'published'

export type EntryPath = { ok: true; path: string } | { ok: false; why: string }

/** C0, DEL and C1 controls, bidirectional and zero-width format characters, line and paragraph separators. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/**
 * The path of an entry inside the package (without its top-level folder), or why it is refused.
 * A folder entry's trailing slash is allowed; its path is '' for the top-level folder itself.
 */
export function entryPath(raw: string, kind: TarballKind, isDirectory: boolean): EntryPath {
  if (raw.includes('\\')) return { ok: false, why: 'its name contains a backslash' }
  if (raw.startsWith('/') || /^[a-z]:/i.test(raw)) return { ok: false, why: 'it is an absolute path' }
  if (INVISIBLE.test(raw)) return { ok: false, why: 'its name contains a control, bidirectional or invisible character' }
  const segments = raw.split('/')
  if (isDirectory && segments.length > 1 && segments[segments.length - 1] === '') segments.pop()
  if (segments.some((s) => s === '')) return { ok: false, why: 'its name has an empty segment (//)' }
  if (segments.some((s) => s === '.' || s === '..')) return { ok: false, why: 'its name has a "." or ".." segment' }
  if (kind === 'staged' && segments[0] !== 'package') return { ok: false, why: 'it is outside package/' }
  if (segments.length === 1) return isDirectory ? { ok: true, path: '' } : { ok: false, why: 'it is outside the package folder' }
  if (kind === 'staged' && foldName(segments[1] as string) === '.git') {
    return { ok: false, why: 'it is in a .git folder, which npm pack never includes and npm publish would read' }
  }
  return { ok: true, path: segments.slice(1).join('/') }
}

/** The key under which two names are one file on a case-insensitive, normalising file system. */
export function foldName(path: string): string {
  return path.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC')
}

/** Every folder a path lives in: `a/b/c` → `a`, `a/b`. */
export function parentsOf(path: string): string[] {
  const parts = path.split('/')
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'))
}

const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}\\"]/gu
const MAX_SHOWN = 200

/**
 * An entry name as it may appear in a message: quoted, with every control, format, private or
 * unassigned character written as \u{...}, and cut after 200 characters. Never the raw name.
 */
export function quoteEntryName(name: string): string {
  return `"${escapeText(name)}"`
}

/** Text from a parser (an error message) made safe for a message the same way, without the quotes. */
export function escapeText(text: string): string {
  const chars = Array.from(text)
  const shown = chars.slice(0, MAX_SHOWN).join('')
  const escaped = shown.replace(UNPRINTABLE, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\u{${(c.codePointAt(0) as number).toString(16)}}`))
  return `${escaped}${chars.length > MAX_SHOWN ? '…' : ''}`
}
