/** The keys of pending markers (src/backends/pending-markers.ts): written one way, anything else read as nothing. */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { markerPath, parseMarkerPath } from '../../src/backends/pending-markers.js'

describe('pending marker keys', () => {
  it('round-trip package names, scoped ones too, as one folder per package', () => {
    const id = randomUUID()
    for (const name of ['lib', '@acme/lib', 'a-b.c_d~e', 'OldStyle']) {
      expect(markerPath(name, id).split('/')).toHaveLength(2)
      expect(parseMarkerPath(markerPath(name, id))).toEqual({ name, id })
    }
    expect(markerPath('@acme/lib', id)).toBe(`%40acme%2Flib/${id}`)
  })

  it.each([
    ['no name', `/${randomUUID()}`],
    ['no folder', randomUUID()],
    ['an id that is not a UUID', 'lib/not-an-id'],
    ['a name that is not escaped as we escape it', `@acme/lib/${randomUUID()}`],
    ['an escape that does not decode', `%E0%A4%A/${randomUUID()}`],
    ['a name npm refuses: ..', `../${randomUUID()}`],
    ['a name npm refuses: .hidden', `.hidden/${randomUUID()}`],
    ['a name npm refuses: a space', `a%20b/${randomUUID()}`],
  ])('read %s as nothing', (_, key) => {
    expect(parseMarkerPath(key)).toBeNull()
  })
})
