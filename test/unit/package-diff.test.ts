import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { diffPackages } from '../../src/core/package-diff.js'
import type { TarballContents, TarballFile } from '../../src/npm/tarball.js'
import { renderDiffTitle, renderPackageDiff } from '../../src/ui/render-diff.js'
import { renderPolicy } from '../../src/ui/render.js'
import { pagerCommand } from '../../src/ui/pager.js'

const file = (path: string, content: string | Buffer): TarballFile => {
  const data = typeof content === 'string' ? Buffer.from(content) : content
  return { path, size: data.length, mode: 0o644, data }
}
const pkg = (version: string, files: TarballFile[]): TarballContents => ({ manifest: { name: 'p', version }, files: [file('package.json', `{"name":"p","version":"${version}"}\n`), ...files] })

const before = pkg('1.0.0', [file('index.js', 'a\nb\nc\n'), file('lib/gone.js', 'bye\n'), file('img.png', Buffer.from([0x89, 0x50, 0, 1])), file('same.js', 'same\n')])
const after = pkg('1.1.0', [file('index.js', 'a\nB\nc\n'), file('lib/new.js', 'hi\n'), file('img.png', Buffer.from([0x89, 0x50, 0, 2, 3])), file('same.js', 'same\n')])
const plain = (_: string, text: string): string => text

describe('diffPackages', () => {
  it('diffs changed, added and removed files; binary files get no text diff', () => {
    const { files, unmatched } = diffPackages(before, after)
    expect(unmatched).toEqual([])
    expect(files.map((f) => [f.path, f.status, f.binary])).toEqual([
      ['img.png', 'changed', true],
      ['index.js', 'changed', false],
      ['lib/gone.js', 'removed', false],
      ['lib/new.js', 'added', false],
      ['package.json', 'changed', false],
    ])
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]))
    expect(byPath['index.js']?.diff).toBe('--- a/index.js\n+++ b/index.js\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n')
    expect(byPath['lib/new.js']?.diff).toBe('--- /dev/null\n+++ b/lib/new.js\n@@ -0,0 +1 @@\n+hi\n')
    expect(byPath['lib/gone.js']).toMatchObject({ previousSize: 4, diff: '--- a/lib/gone.js\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n' })
    expect(byPath['img.png']).toEqual({ path: 'img.png', status: 'changed', size: 5, previousSize: 4, binary: true })
  })

  it('keeps only the files or folders asked for, and says which filters match nothing', () => {
    const r = diffPackages(before, after, { paths: ['./index.js', 'lib', 'same.js', 'nope.js', 'package/lib/'] })
    expect(r.files.map((f) => f.path)).toEqual(['index.js', 'lib/gone.js', 'lib/new.js'])
    expect(r.unmatched).toEqual(['nope.js'])
    // `lib` is a folder filter, not a prefix of `library.js`.
    expect(diffPackages(before, pkg('1.1.0', [file('library.js', 'x\n')]), { paths: ['lib'] }).files.map((f) => f.path)).toEqual(['lib/gone.js'])
  })

  it('honours the context size, and a first release is all additions', () => {
    const long = (n: string) => pkg('1', [file('a.txt', `1\n2\n3\n${n}\n5\n6\n7\n`)])
    expect(diffPackages(long('4'), long('four'), { context: 1 }).files.find((f) => f.path === 'a.txt')?.diff).toBe('--- a/a.txt\n+++ b/a.txt\n@@ -3,3 +3,3 @@\n 3\n-4\n+four\n 5\n')
    expect(diffPackages(null, after).files.every((f) => f.status === 'added')).toBe(true)
  })
})

describe('renderPackageDiff', () => {
  it('prints a patch, summarises binaries and escapes terminal control characters from the tarball', () => {
    const evil = pkg('1.1.0', [file('index.js', 'a\n\u001b[2Jb\u202e\tc\n'), file('img.png', Buffer.from([0x89, 0x50, 0, 2, 3])), file('lib/gone.js', 'bye\n'), file('same.js', 'same\n')])
    const text = renderPackageDiff(diffPackages(before, evil), plain)
    expect(renderDiffTitle({ name: 'p', version: '1.1.0', baseline: { version: '1.0.0', reason: 'tag' } }, plain)).toBe('Diff of p@1.1.0 against 1.0.0 (what the target tag points to)')
    expect(text).not.toContain('Diff of')
    expect(text).toContain('Binary files a/img.png and b/img.png differ (changed, 4 B → 5 B)')
    expect(text).toContain('-b\n-c\n+\\x1b[2Jb\\u{202e}\tc\n')
    expect(text).not.toContain('\u001b')
    expect(text).not.toContain('\u202e')
    expect(renderPackageDiff({ files: [], unmatched: [] }, plain)).toBe('')
    expect(renderDiffTitle({ name: 'p', version: '1', baseline: { version: null, reason: 'first-release' } }, plain)).toContain('first release')
  })

  it('colours headers, hunks, additions and removals through the output style', () => {
    const tagged = (style: string, text: string): string => `<${style}>${text}</${style}>`
    const text = renderPackageDiff(diffPackages(before, after, { paths: ['index.js'] }), tagged)
    expect(text).toContain('<bold>--- a/index.js</bold>\n<bold>+++ b/index.js</bold>\n<cyan>@@ -1,3 +1,3 @@</cyan>\n a\n<red>-b</red>\n<green>+B</green>\n c')
  })
})

describe('renderPolicy', () => {
  it('says nothing without a policy, and what was blocked or let through with one', () => {
    expect(renderPolicy({}, { blocked: [], allowed: [] }, plain)).toBe('')
    expect(renderPolicy({ refuse: 'danger' }, { blocked: [{ code: 'INSTALL_SCRIPT_ADDED' }], allowed: [{ code: 'NATIVE_BINARY_ADDED' }] }, plain)).toBe(
      'Policy:     refuses danger findings\n  allowed:   NATIVE_BINARY_ADDED (--allow or stagePublish.policy.allow)\n  blocked:   INSTALL_SCRIPT_ADDED',
    )
    expect(renderPolicy({ refuse: 'warn' }, { blocked: [], allowed: [] }, plain)).toBe('Policy:     refuses warn findings and above\n  passed')
  })
})

describe('pagerCommand', () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true })
  it('pages only on a terminal, with $PAGER or less -R', () => {
    expect(pagerCommand({ stdout: new PassThrough(), env: { PAGER: 'more' } })).toBeNull()
    expect(pagerCommand({ stdout: tty, env: {} })).toBe('less -R')
    expect(pagerCommand({ stdout: tty, env: { PAGER: 'most' } })).toBe('most')
    expect(pagerCommand({ stdout: tty, env: { PAGER: '' } })).toBeNull()
    expect(pagerCommand({ stdout: tty, env: { PAGER: 'cat' } })).toBeNull()
  })
})
