/** `list`'s table shows at most `limit` releases (src/ui/render-list.ts): the newest, whole release sets, and says what it left out. */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { renderListFooter, renderListResult, type ListView } from '../../src/ui/render-list.js'
import { plainText, style } from '../../src/ui/style.js'
import { sampleRecord } from '../support/records.js'

const item = (i: number, setId?: string) => ({
  record: sampleRecord({ id: randomUUID(), packageName: `p${i}`, createdAt: new Date(Date.UTC(2026, 0, 1) - i * 60_000).toISOString(), ...(setId && { setId }) }),
  state: 'pending' as const,
})
const view = (items: ListView['items'], limit: number): ListView => ({
  packageName: undefined, all: false, location: '/stage', native: false, now: new Date(Date.UTC(2026, 0, 2)), items, shown: items, limit,
  followUps: { approve: 'stage-publish approve <id>', approveSet: 'stage-publish approve <set-id>', listAll: 'stage-publish list --all', listUnlimited: 'stage-publish list --limit 0' },
})
const packages = (text: string) => plainText(text).split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1])

describe('list limit', () => {
  it('shows the newest `limit` releases and names how many more there are and how to see them', () => {
    const items = Array.from({ length: 7 }, (_, i) => item(i))
    const v = view(items, 3)
    expect(packages(renderListResult(v, style))).toEqual(['p0@1.0.0', 'p1@1.0.0', 'p2@1.0.0'])
    expect(plainText(renderListFooter(v, style) ?? '')).toContain('4 more not shown (the newest 3 are): `stage-publish list --limit 0` shows all of them')
    expect(packages(renderListResult(view(items, 0), style))).toHaveLength(7)
    expect(plainText(renderListFooter(view(items, 0), style) ?? '')).not.toContain('more not shown')
    expect(plainText(renderListFooter(view(items, 7), style) ?? '')).not.toContain('more not shown')
  })

  it('shows a release set that reaches the limit whole', () => {
    const setId = randomUUID()
    const items = [item(0), item(1, setId), item(2, setId), item(3, setId), item(4)]
    const v = view(items, 2)
    const text = plainText(renderListResult(v, style))
    expect(text).toContain('release set of 3 packages')
    expect(packages(text)).toEqual(['p0@1.0.0', setId.slice(0, 8), 'p1@1.0.0', 'p2@1.0.0', 'p3@1.0.0'])
    expect(plainText(renderListFooter(v, style) ?? '')).toContain('1 more not shown (the newest 4 are)')
  })
})
