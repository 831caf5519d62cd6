/**
 * Text heuristics for new or changed code: minified, obfuscated-looking or with lines long enough
 * to hide something. One linear pass over the bytes per file. Pure.
 *
 * Thresholds are in bytes; they were chosen so hand-written and prettier-formatted code (lines of
 * 30–120 bytes, 15–30% whitespace) stays far below them.
 */
import type { TarballFile } from '../tarball-contents.js'
import { isBinary } from '../diff.js'
import type { Add } from './findings.js'

/** Files the minified test applies to (other scripts get the long-line test). */
const JS_RE = /\.[cm]?jsx?$/i
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
const CLASS = new Uint8Array(256).fill(OTHER)
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
export function reviewCode(path: string, f: TarballFile, prev: TarballFile | undefined, add: Add): void {
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
