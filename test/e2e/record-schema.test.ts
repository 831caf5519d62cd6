/**
 * A record rewritten by whoever holds the CI credential: terminal escapes in a string, an
 * unparseable claim time. It is reported as corrupt, naming the field, and nothing of it reaches
 * the terminal raw; the other records still list.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

describe('a hostile record in a record store', () => {
  it.each([
    ['escape sequences in actor', { actor: 'mallory\u001b[2J\u001b]0;pwned\u0007\u202e' }, /actor contains the control or invisible character U\+001B/],
    ['an approving claim whose time never parses', { state: 'approving', claim: { by: 'mallory', at: 'never' } }, /claim\.at is not an ISO date/],
  ])('with %s is corrupt: view refuses it, list skips it and names it', async (_what, change, reason) => {
    const sb = await sandbox()
    const ids: string[] = []
    for (const n of [1, 2]) {
      const pkg = await sb.makePackage(uniqueName(`hostile${n}`), { version: '1.0.0' })
      const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
      expect(r.code, r.all).toBe(0)
      ids.push(parseJson<{ id: string }>(r.stdout).id)
    }
    const [bad, good] = ids as [string, string]
    const file = path.join(sb.store, 'records', `${bad}.json`)
    await fs.writeFile(file, JSON.stringify({ ...JSON.parse(await fs.readFile(file, 'utf8')), ...change }))

    const view = await sb.run(['view', bad, '--backend', sb.backend])
    expect(view.code).toBe(1)
    expect(view.stderr).toContain('ECORRUPT')
    expect(view.stderr).toMatch(reason)
    const list = await sb.run(['list', '--backend', sb.backend])
    expect(list.code, list.all).toBe(0)
    expect(list.stderr).toContain(bad)
    expect(list.stdout).toContain(good.slice(0, 8))
    const json = await sb.run(['list', '--json', '--backend', sb.backend])
    expect(parseJson<Array<{ id: string }>>(json.stdout).map((r) => r.id)).toEqual([good])
    for (const out of [view.all, list.all, json.all]) expect(out).not.toMatch(/[\u001b\u0007\u202e]|mallory/)
  })
})
