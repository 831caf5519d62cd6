/**
 * Unified diffs of two texts, and the binary test that decides whether a file gets one. Pure.
 *
 * No text-diff library is installed (node_modules has only just-diff, which diffs JSON objects),
 * so this is Myers' O(ND) algorithm in its linear-space, divide-and-conquer form ("An O(ND)
 * Difference Algorithm and Its Variations", 1986, section 4b), structured like diff-match-patch's
 * `diff_bisect`. Lines are interned to integers first, so comparing two lines is one `===`.
 */

export interface UnifiedDiffOptions {
  oldName: string
  newName: string
  /** Unchanged lines shown around each change. */
  context?: number
}

/**
 * Past this many edit steps in one sub-problem the search stops and the rest of that sub-problem is
 * shown as "all removed, all added". The output is still a correct diff, only not a minimal one;
 * without the cap two unrelated 100,000-line files would cost O(N·D) = 10^10 steps. GNU diff makes
 * the same trade (its "too expensive" heuristic).
 */
const MAX_EDIT_STEPS = 4096

/**
 * git's test (xdiff-interface.c buffer_is_binary): a NUL byte in the first 8,000 bytes.
 * Text in any ASCII-compatible encoding has none; almost every binary format does.
 */
export function isBinary(buf: Uint8Array): boolean {
  const end = Math.min(buf.length, 8000)
  for (let i = 0; i < end; i++) if (buf[i] === 0) return true
  return false
}

/** A unified diff (`diff -u` / `git diff` layout), or '' when the texts are equal. */
export function unifiedDiff(oldText: string, newText: string, options: UnifiedDiffOptions): string {
  if (oldText === newText) return ''
  const context = Math.max(0, Math.floor(options.context ?? 3))
  const oldLines = splitLines(oldText)
  const newLines = splitLines(newText)
  const ids = new Map<string, number>()
  const intern = (lines: string[]): Int32Array =>
    Int32Array.from(lines, (line) => {
      let id = ids.get(line)
      if (id === undefined) ids.set(line, (id = ids.size))
      return id
    })
  const ops = editScript(intern(oldLines), intern(newLines))
  return `--- ${options.oldName}\n+++ ${options.newName}\n${formatHunks(ops, oldLines, newLines, context)}`
}

/** Lines with their terminator, so "b" and "b\n" differ (a missing final newline is a change). */
function splitLines(text: string): string[] {
  const lines: string[] = []
  let start = 0
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    lines.push(text.slice(start, nl + 1))
    start = nl + 1
  }
  if (start < text.length) lines.push(text.slice(start))
  return lines
}

/** 0 = keep, 1 = delete (old line), 2 = insert (new line), in order. */
type Op = 0 | 1 | 2

function editScript(a: Int32Array, b: Int32Array): Op[] {
  const ops: Op[] = []
  diffRange(a, 0, a.length, b, 0, b.length, ops)
  return ops
}

function diffRange(a: Int32Array, aLo: number, aHi: number, b: Int32Array, bLo: number, bHi: number, ops: Op[]): void {
  // Common prefix and suffix cost nothing to find and shrink the search.
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) {
    ops.push(0)
    aLo++
    bLo++
  }
  let suffix = 0
  while (aLo < aHi - suffix && bLo < bHi - suffix && a[aHi - suffix - 1] === b[bHi - suffix - 1]) suffix++
  aHi -= suffix
  bHi -= suffix

  const split = aLo === aHi || bLo === bHi ? null : bisect(a, aLo, aHi, b, bLo, bHi)
  if (split) {
    diffRange(a, aLo, split[0], b, bLo, split[1], ops)
    diffRange(a, split[0], aHi, b, split[1], bHi, ops)
  } else {
    for (let i = aLo; i < aHi; i++) ops.push(1)
    for (let j = bLo; j < bHi; j++) ops.push(2)
  }
  for (let i = 0; i < suffix; i++) ops.push(0)
}

/**
 * Finds where a shortest edit path crosses the middle by running it forwards from the start and
 * backwards from the end until the two meet. Returns the split point, or null when the ranges share
 * nothing (or the search passed MAX_EDIT_STEPS).
 */
function bisect(a: Int32Array, aLo: number, aHi: number, b: Int32Array, bLo: number, bHi: number): [number, number] | null {
  const n = aHi - aLo
  const m = bHi - bLo
  const maxD = Math.min(Math.ceil((n + m) / 2), MAX_EDIT_STEPS)
  const offset = maxD + 1
  const size = 2 * maxD + 3
  const vf = new Int32Array(size).fill(-1)
  const vb = new Int32Array(size).fill(-1)
  vf[offset + 1] = 0
  vb[offset + 1] = 0
  const delta = n - m
  const front = (delta & 1) !== 0
  // Diagonals that ran off the grid are skipped from then on (diff-match-patch's k1start/k1end).
  let fStart = 0
  let fEnd = 0
  let bStart = 0
  let bEnd = 0
  const at = (v: Int32Array, k: number): number => v[offset + k] as number

  for (let d = 0; d < maxD; d++) {
    for (let k = -d + fStart; k <= d - fEnd; k += 2) {
      let x = k === -d || (k !== d && at(vf, k - 1) < at(vf, k + 1)) ? at(vf, k + 1) : at(vf, k - 1) + 1
      let y = x - k
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++
        y++
      }
      vf[offset + k] = x
      if (x > n) fEnd += 2
      else if (y > m) fStart += 2
      else if (front) {
        const kb = delta - k
        if (kb >= -maxD - 1 && kb <= maxD + 1 && at(vb, kb) !== -1 && x >= n - at(vb, kb)) return [aLo + x, bLo + y]
      }
    }
    for (let k = -d + bStart; k <= d - bEnd; k += 2) {
      let x = k === -d || (k !== d && at(vb, k - 1) < at(vb, k + 1)) ? at(vb, k + 1) : at(vb, k - 1) + 1
      let y = x - k
      while (x < n && y < m && a[aHi - x - 1] === b[bHi - y - 1]) {
        x++
        y++
      }
      vb[offset + k] = x
      if (x > n) bEnd += 2
      else if (y > m) bStart += 2
      else if (!front) {
        const kf = delta - k
        if (kf >= -maxD - 1 && kf <= maxD + 1 && at(vf, kf) !== -1) {
          const fx = at(vf, kf)
          if (fx >= n - x) return [aLo + fx, bLo + fx - kf]
        }
      }
    }
  }
  return null
}

function formatHunks(ops: Op[], oldLines: string[], newLines: string[], context: number): string {
  // Line indexes (old, new) at each op, so a hunk can start anywhere.
  const oldAt = new Int32Array(ops.length + 1)
  const newAt = new Int32Array(ops.length + 1)
  for (let i = 0; i < ops.length; i++) {
    oldAt[i + 1] = (oldAt[i] as number) + (ops[i] === 2 ? 0 : 1)
    newAt[i + 1] = (newAt[i] as number) + (ops[i] === 1 ? 0 : 1)
  }
  let out = ''
  let i = 0
  while (i < ops.length) {
    while (i < ops.length && ops[i] === 0) i++
    if (i === ops.length) break
    const start = Math.max(0, i - context)
    // Extend the hunk while the next change is within 2·context unchanged lines (as diff -u does).
    let end = i
    for (;;) {
      while (end < ops.length && ops[end] !== 0) end++
      let gap = end
      while (gap < ops.length && ops[gap] === 0) gap++
      if (gap < ops.length && gap - end <= 2 * context) end = gap
      else {
        end = Math.min(ops.length, end + context)
        break
      }
    }
    const o0 = oldAt[start] as number
    const n0 = newAt[start] as number
    const oLen = (oldAt[end] as number) - o0
    const nLen = (newAt[end] as number) - n0
    out += `@@ -${range(o0, oLen)} +${range(n0, nLen)} @@\n`
    for (let k = start; k < end; k++) {
      const op = ops[k]
      const line = op === 2 ? newLines[newAt[k] as number] : oldLines[oldAt[k] as number]
      out += formatLine(op === 0 ? ' ' : op === 1 ? '-' : '+', line ?? '')
    }
    i = end
  }
  return out
}

/** GNU rules: "l,n"; just "l" when n is 1; an empty range names the line before it. */
const range = (start: number, length: number): string =>
  length === 1 ? `${start + 1}` : `${length === 0 ? start : start + 1},${length}`

const formatLine = (prefix: string, line: string): string =>
  line.endsWith('\n') ? `${prefix}${line}` : `${prefix}${line}\n\\ No newline at end of file\n`
