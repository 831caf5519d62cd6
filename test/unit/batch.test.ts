import { describe, expect, it } from 'vitest'
import { blockingDependencies, dependenciesAmong, publishOrder, summarizeBatch, type BatchMember, type Outcome } from '../../src/core/batch.js'

const m = (name: string, dependsOn: string[] = [], version = '1.0.0'): BatchMember => ({ id: `${name}-${version}`, name, version, dependsOn })
const names = (list: BatchMember[]) => list.map((x) => `${x.name}@${x.version}`)

describe('dependenciesAmong', () => {
  it('reads dependencies, optional and peer dependencies, never devDependencies, and only batch members', () => {
    const manifest = {
      name: 'a',
      dependencies: { b: '^1.0.0', lodash: '^4' },
      optionalDependencies: { c: '1.0.0' },
      peerDependencies: { d: '*' },
      devDependencies: { e: '1.0.0' },
    }
    expect(dependenciesAmong(manifest, new Set(['a', 'b', 'c', 'd', 'e']))).toEqual(['b', 'c', 'd'])
  })
  it('ignores a package depending on itself and malformed fields', () => {
    expect(dependenciesAmong({ name: 'a', dependencies: { a: '1' }, peerDependencies: 'nonsense' }, new Set(['a']))).toEqual([])
  })
})

describe('publishOrder', () => {
  it('puts every package after the packages it depends on (a → b → c gives c, b, a)', () => {
    const { order, cycles } = publishOrder([m('a', ['b']), m('b', ['c']), m('c')])
    expect(names(order)).toEqual(['c@1.0.0', 'b@1.0.0', 'a@1.0.0'])
    expect(cycles).toEqual([])
  })
  it('orders independent packages by name, whatever the input order', () => {
    expect(names(publishOrder([m('zeta'), m('alpha'), m('mid', ['zeta'])]).order)).toEqual(['alpha@1.0.0', 'zeta@1.0.0', 'mid@1.0.0'])
  })
  it('handles a diamond', () => {
    const { order } = publishOrder([m('top', ['left', 'right']), m('left', ['base']), m('right', ['base']), m('base')])
    expect(names(order)).toEqual(['base@1.0.0', 'left@1.0.0', 'right@1.0.0', 'top@1.0.0'])
  })
  it('publishes several versions of one package lowest first', () => {
    expect(names(publishOrder([m('p', [], '1.10.0'), m('p', [], '1.9.0'), m('p', [], '1.0.0-beta.1')]).order)).toEqual(['p@1.0.0-beta.1', 'p@1.9.0', 'p@1.10.0'])
  })
  it('breaks a circle at the first name and reports it, placing everything once', () => {
    const { order, cycles } = publishOrder([m('x', ['y']), m('y', ['x']), m('z', ['x'])])
    expect(names(order)).toEqual(['x@1.0.0', 'y@1.0.0', 'z@1.0.0'])
    expect(cycles).toEqual([['x', 'y', 'z']])
  })
})

describe('blockingDependencies', () => {
  const a = m('a', ['b'])
  const b = m('b', ['c'])
  const c = m('c')
  const order = [c, b, a]
  it('lets a release go when everything it depends on is published (or was already)', () => {
    const outcomes = new Map<string, Outcome>([[c.id, { status: 'already-approved' }], [b.id, { status: 'published' }]])
    expect(blockingDependencies(a, order, outcomes)).toEqual([])
  })
  it('holds a release whose dependency failed or is pending', () => {
    const failed = new Map<string, Outcome>([[c.id, { status: 'published' }], [b.id, { status: 'failed', error: { code: 'EREGISTRY', summary: 'no', detail: '' } }]])
    expect(blockingDependencies(a, order, failed)).toEqual(['b@1.0.0'])
    const pending = new Map<string, Outcome>([[c.id, { status: 'pending', reason: 'stopped' }]])
    expect(blockingDependencies(b, order, pending)).toEqual(['c@1.0.0'])
  })
  it('does not make the first of a circle wait for the others', () => {
    const x = m('x', ['y'])
    const y = m('y', ['x'])
    expect(blockingDependencies(x, [x, y], new Map())).toEqual([])
    expect(blockingDependencies(y, [x, y], new Map())).toEqual(['x@1.0.0'])
  })
})

describe('summarizeBatch', () => {
  it('says what was published, what failed and why, and what is still pending', () => {
    const [c, b, a, d] = [m('c'), m('b', ['c']), m('a', ['b']), m('d')]
    const error = { code: 'EPUBLISHCONFLICT', summary: 'A different b@1.0.0 is already published', detail: 'reject it' }
    const outcomes = new Map<string, Outcome>([
      [c.id, { status: 'published' }],
      [b.id, { status: 'failed', error }],
      [a.id, { status: 'pending', reason: 'dependency', on: ['b@1.0.0'] }],
    ])
    const s = summarizeBatch([c, b, a, d], outcomes, 'set-1')
    expect(s.setId).toBe('set-1')
    expect(s.order.map((e) => e.name)).toEqual(['c', 'b', 'a', 'd'])
    expect(s.published).toEqual([{ id: c.id, name: 'c', version: '1.0.0', how: 'published' }])
    expect(s.failed).toEqual([{ id: b.id, name: 'b', version: '1.0.0', error }])
    // d has no outcome: the run never reached it.
    expect(s.pending).toEqual([
      { id: a.id, name: 'a', version: '1.0.0', reason: 'dependency', on: ['b@1.0.0'] },
      { id: d.id, name: 'd', version: '1.0.0', reason: 'stopped' },
    ])
    expect(s.complete).toBe(false)
  })
  it('is complete when every release is published, whichever way', () => {
    const [x, y, z] = [m('x'), m('y'), m('z')]
    const s = summarizeBatch([x, y, z], new Map<string, Outcome>([[x.id, { status: 'published' }], [y.id, { status: 'already-published' }], [z.id, { status: 'already-approved', by: 'alice' }]]))
    expect(s.complete).toBe(true)
    expect(s.published.map((p) => p.how)).toEqual(['published', 'already-published', 'already-approved'])
    expect(s.setId).toBeNull()
  })
})
