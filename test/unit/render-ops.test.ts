/**
 * The renderers of `wait`, `doctor` and `list --older-than` (src/ui/render-wait.ts, render-doctor.ts,
 * render-list.ts), with hostile values, and the pure rules of `wait` (src/core/wait.ts).
 * (A file of its own rather than render-verbs.test.ts, which several people extend at the same time.)
 */
import { describe, expect, it } from 'vitest'
import { renderWait, renderWaitProgress, waitJson, formatWaited, type WaitResult } from '../../src/ui/render-wait.js'
import { doctorJson, doctorOk, renderDoctor, type DoctorResult } from '../../src/ui/render-doctor.js'
import { formatAge, renderListResult, type ListView } from '../../src/ui/render-list.js'
import { nextPause, outcomeOf, servedAs, stateOfRecord } from '../../src/core/wait.js'
import { plainText, style } from '../../src/ui/style.js'

const evil = (tag: string): string =>
  `${tag}\nFORGED ${tag}: verified\r\u001b[2K\u001b[32mOK\u001b]0;title\u0007\u001b]8;;https://x.example\u0007\u202e\u2066\u200b\u0085\u009b\u2028`
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/

function expectInert(text: string): void {
  const plain = plainText(text)
  expect(plain).not.toMatch(RAW)
  for (const line of plain.split('\n')) expect(line, line).not.toMatch(/^\s*FORGED/)
  expect(plain).toContain('FORGED')
}

const waitResult = (over: Partial<WaitResult> = {}): WaitResult => ({
  target: { kind: 'release', id: '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b' },
  outcome: 'rejected',
  releases: [{ id: '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b', packageName: evil('name'), version: '1.0.0', registry: 'https://registry.npmjs.org/', state: 'rejected', by: evil('by'), reason: evil('reason') }],
  location: evil('location'),
  waitedMs: 75_000,
  timeoutMs: 6 * 3600_000,
  ...over,
})

describe('render-wait', () => {
  it('words the result; who and why from a record come out inert', () => {
    const text = renderWait(waitResult())
    expectInert(text)
    expect(plainText(text)).toMatch(/^- name.*rejected by by/)
  })

  it('a timeout says how long it waited; --json keeps exact values and names the set id for a set', () => {
    const result = waitResult({ outcome: 'timeout', target: { kind: 'set', id: 'abc' }, releases: [{ id: 'x', packageName: 'lib', version: '1.0.0', registry: 'r', state: 'waiting' }] })
    expect(renderWait(result)).toBe('… lib@1.0.0 waiting for approval\nNot decided after 1m 15s (--timeout 6h).')
    expect(waitJson(result)).toEqual({ outcome: 'timeout', setId: 'abc', waitedSeconds: 75, releases: result.releases })
    expect(waitJson(waitResult())).toMatchObject({ id: '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b', releases: [{ reason: evil('reason') }] })
  })

  it('progress lines are inert too', () => {
    expectInert(renderWaitProgress({ kind: 'start', target: { kind: 'release', id: 'x' }, releases: [{ packageName: evil('p'), version: '1' }], location: '/s', timeoutMs: 60_000 }))
    expectInert(renderWaitProgress({ kind: 'change', release: waitResult().releases[0]! }))
    expect(renderWaitProgress({ kind: 'still', waitedMs: 3_723_000 })).toBe('still waiting (1h 2m)')
    expect([formatWaited(5_000), formatWaited(60_000), formatWaited(3_600_000)]).toEqual(['5s', '1m', '1h'])
  })
})

describe('render-doctor', () => {
  const result = (statuses: Array<DoctorResult['checks'][number]['status']>): DoctorResult => ({
    role: 'approver',
    checks: statuses.map((status, i) => ({ name: `check${i}`, status, summary: evil(`summary${i}`), hint: evil(`hint${i}`) })),
  })

  it('one line per check (hints only where something is to be done), inert whatever the registry said', () => {
    const r = result(['ok', 'warn', 'error'])
    const text = renderDoctor(r, style)
    expectInert(text)
    const plain = plainText(text).split('\n')
    expect(plain[0]).toMatch(/^ok {4}check0 {2}summary0/)
    expect(plain.filter((l) => l.includes('→'))).toHaveLength(2)
    expect(plain.at(-1)).toBe('1 problem to fix, 1 warning.')
  })

  it('exit status and --json: broken only with an error; warnings allowed', () => {
    expect(doctorOk(result(['ok', 'warn', 'info', 'skip']))).toBe(true)
    expect(doctorOk(result(['ok', 'error']))).toBe(false)
    expect(doctorJson(result(['ok']))).toEqual({ ok: true, role: 'approver', checks: [{ name: 'check0', status: 'ok', summary: evil('summary0'), hint: evil('hint0') }] })
    expect(plainText(renderDoctor(result(['ok', 'warn']), style)).split('\n').at(-1)).toBe('Nothing is broken (1 warning). Checked as an approver.')
  })
})

describe('list --older-than wording', () => {
  const view = (over: Partial<ListView>): ListView => ({ packageName: undefined, all: false, location: '/stage', native: false, now: new Date(), items: [], shown: [], followUps: { approve: '', approveSet: '', listAll: '', listUnlimited: '' }, limit: 100, ...over })
  it('says what was asked for when nothing waits that long', () => {
    expect(renderListResult(view({ olderThanMs: 3 * 86_400_000 }), style)).toBe('No staged releases waiting for approval for more than 3d in /stage.')
    expect(renderListResult(view({ olderThanMs: 90 * 60_000, all: true }), style)).toBe('No staged releases staged more than 90m ago in /stage.')
    expect([formatAge(2 * 7 * 86_400_000), formatAge(36 * 3_600_000), formatAge(45_000)]).toEqual(['2w', '36h', '45s'])
  })
})

describe('wait rules (core/wait.ts)', () => {
  const integrity = `sha512-${'a'.repeat(86)}==`
  it('approved means the registry serves the staged digest: sha512 when both have one, else the sha1 shasum', () => {
    expect(servedAs({ integrity, shasum: 'ab' }, undefined)).toBe('absent')
    expect(servedAs({ integrity, shasum: 'ab' }, { integrity, shasum: 'zz' })).toBe('same')
    expect(servedAs({ integrity, shasum: 'ab' }, { integrity: `sha512-${'b'.repeat(86)}==`, shasum: 'ab' })).toBe('other')
    expect(servedAs({ shasum: 'AB' }, { shasum: 'ab' })).toBe('same')
    expect(servedAs({ shasum: 'ab' }, { shasum: 'cd' })).toBe('other')
    // Served, but with nothing to compare: not proof of our bytes.
    expect(servedAs({ integrity, shasum: 'ab' }, {})).toBe('other')
    expect(servedAs({ shasum: 'ab' }, { integrity, shasum: 42 })).toBe('other')
  })

  it('the outcome: approved only when every release is; a rejection, expiry or mismatch decides at once', () => {
    expect(outcomeOf(['approved', 'approved'])).toBe('approved')
    expect(outcomeOf(['approved', 'publishing'])).toBe('pending')
    expect(outcomeOf(['waiting', 'rejected'])).toBe('rejected')
    expect(outcomeOf(['waiting', 'expired'])).toBe('expired')
    expect(outcomeOf(['approved', 'mismatch'])).toBe('failed')
    expect(outcomeOf(['missing'])).toBe('failed')
    expect(outcomeOf([])).toBe('pending')
    expect([stateOfRecord('pending'), stateOfRecord('approving'), stateOfRecord('approved'), stateOfRecord('rejected'), stateOfRecord('expired')]).toEqual(['waiting', 'waiting', 'publishing', 'rejected', 'expired'])
  })

  it('pauses grow by half, never beyond --interval nor past the deadline', () => {
    const schedule = { firstMs: 2_000, maxMs: 30_000 }
    expect([0, 1, 2, 3].map((a) => nextPause(a, schedule, Infinity))).toEqual([2_000, 3_000, 4_500, 6_750])
    expect(nextPause(50, schedule, Infinity)).toBe(30_000)
    expect(nextPause(5, schedule, 1_234)).toBe(1_234)
    expect(nextPause(0, schedule, -5)).toBe(0)
  })
})
