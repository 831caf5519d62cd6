import { describe, expect, it } from 'vitest'
import { isBinary, unifiedDiff } from '../../src/core/diff.js'

const names = { oldName: 'a/file.txt', newName: 'b/file.txt' }
const lines = (n: number, prefix = 'line'): string => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}\n`).join('')

/** Applies a unified diff to a text: proves the output is a correct diff, whatever its shape. */
function applyPatch(oldText: string, patch: string): string {
  if (patch === '') return oldText
  const old = oldText.match(/[^\n]*\n|[^\n]+$/g) ?? []
  const rows = patch.split('\n').slice(2)
  const out: string[] = []
  let at = 0
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(row)
    if (hunk) {
      const start = Number(hunk[1])
      const len = hunk[2] === undefined ? 1 : Number(hunk[2])
      const first = len === 0 ? start : start - 1
      while (at < first) out.push(old[at++] as string)
      continue
    }
    if (row === '' && i === rows.length - 1) break
    const noEol = rows[i + 1] === '\\ No newline at end of file'
    const text = row.slice(1) + (noEol ? '' : '\n')
    if (row[0] === ' ') {
      expect(old[at]).toBe(text)
      out.push(old[at++] as string)
    } else if (row[0] === '-') {
      expect(old[at]).toBe(text)
      at++
    } else if (row[0] === '+') out.push(text)
    if (noEol) i++
  }
  while (at < old.length) out.push(old[at++] as string)
  return out.join('')
}

/** Length of a longest common subsequence of lines, by dynamic programming (the reference). */
function lcsLength(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0)
  for (const x of a) {
    const row = [0]
    for (let j = 0; j < b.length; j++) row.push(x === b[j] ? (prev[j] as number) + 1 : Math.max(prev[j + 1] as number, row[j] as number))
    prev = row
  }
  return prev[b.length] as number
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', names)).toBe('')
  })

  it('shows one changed line with three lines of context', () => {
    const before = lines(10)
    const after = before.replace('line 5\n', 'line five\n')
    expect(unifiedDiff(before, after, names)).toBe(
      [
        '--- a/file.txt',
        '+++ b/file.txt',
        '@@ -2,7 +2,7 @@',
        ' line 2',
        ' line 3',
        ' line 4',
        '-line 5',
        '+line five',
        ' line 6',
        ' line 7',
        ' line 8',
        '',
      ].join('\n'),
    )
  })

  it('merges changes closer than twice the context and splits the others', () => {
    const before = lines(30)
    const near = before.replace('line 5\n', 'x\n').replace('line 10\n', 'y\n')
    expect(unifiedDiff(before, near, names).match(/^@@/gm)).toHaveLength(1)
    const far = before.replace('line 5\n', 'x\n').replace('line 25\n', 'y\n')
    expect(unifiedDiff(before, far, names).match(/^@@/gm)).toHaveLength(2)
  })

  it('names the line before an empty range, as diff -u does', () => {
    expect(unifiedDiff('', 'a\nb\n', names)).toBe('--- a/file.txt\n+++ b/file.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n')
    expect(unifiedDiff('a\nb\n', '', names)).toBe('--- a/file.txt\n+++ b/file.txt\n@@ -1,2 +0,0 @@\n-a\n-b\n')
    expect(unifiedDiff('a\n', 'a\nb\n', { ...names, context: 0 })).toBe('--- a/file.txt\n+++ b/file.txt\n@@ -1,0 +2 @@\n+b\n')
  })

  it('marks a missing newline at the end of a file', () => {
    expect(unifiedDiff('a\nb', 'a\nb\n', names)).toBe(
      '--- a/file.txt\n+++ b/file.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n',
    )
  })

  it('produces minimal, applicable diffs for random edits', () => {
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: rand(40) }, () => `${'abcde'[rand(5)]}\n`)
      const b = a.filter(() => rand(4) !== 0)
      for (let k = rand(6); k > 0; k--) b.splice(rand(b.length + 1), 0, `${'abcdef'[rand(6)]}\n`)
      const oldText = a.join('')
      const newText = b.join('')
      const patch = unifiedDiff(oldText, newText, names)
      expect(applyPatch(oldText, patch)).toBe(newText)
      const edits = patch.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length
      expect(edits).toBe(a.length + b.length - 2 * lcsLength(a, b))
    }
  })

  it('stays correct (if not minimal) on large unrelated files', () => {
    const before = lines(20000, 'old')
    const after = lines(20000, 'new')
    const patch = unifiedDiff(before, after, names)
    expect(applyPatch(before, patch)).toBe(after)
  })
})

describe('isBinary', () => {
  it('treats a NUL byte in the first 8,000 bytes as binary, like git', () => {
    expect(isBinary(Buffer.from('plain text\n'))).toBe(false)
    expect(isBinary(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]))).toBe(true)
    expect(isBinary(Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from([0])]))).toBe(false)
    expect(isBinary(Buffer.from('héllo ✓ UTF-8\n'))).toBe(false)
    expect(isBinary(Buffer.alloc(0))).toBe(false)
  })
})
