/** What staging records about where a release came from: never a credential, never an unsafe character. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectOrigin } from '../../src/origin/origin.js'
import { checkRecord } from '../../src/core/record-schema.js'
import { hasUnsafeChar } from '../../src/core/text.js'
import { sampleRecord } from '../support/records.js'

function repoWithRemote(remote: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'origin-'))
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' })
  git('init', '-q', '-b', 'main')
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'x')
  git('remote', 'add', 'origin', remote)
  return dir
}

const baseEnv = { PATH: process.env.PATH, HOME: os.tmpdir() }

describe('detectOrigin', () => {
  it.each([
    ['https://x-access-token:SECRETTOKEN@github.com/o/r.git', 'https://github.com/o/r.git'],
    ['https://github.com/o/r.git?access_token=SECRETTOKEN', 'https://github.com/o/r.git'],
    ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
  ])('records the remote %s as %s', async (remote, recorded) => {
    const origin = await detectOrigin(repoWithRemote(remote), baseEnv)
    expect(origin.git?.remote).toBe(recorded)
    expect(origin.git?.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(origin.git?.branch).toBe('main')
  })
  it('strips credentials from every CI URL and makes CI text safe, so the record passes the schema', async () => {
    const env = {
      ...baseEnv,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://user:SECRETTOKEN@github.example',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '7',
      GITHUB_ACTOR: 'mallory\u001b[2J\u202e',
      GITHUB_WORKFLOW: 'release\nstate: approved',
      GITHUB_REF: 'refs/heads/main\r',
    }
    const origin = await detectOrigin(repoWithRemote('https://github.com/o/r.git'), env)
    expect(origin.ci?.runUrl).toBe('https://github.example/o/r/actions/runs/7')
    expect(JSON.stringify(origin)).not.toContain('SECRETTOKEN')
    for (const text of [origin.actor, origin.ci?.workflow, origin.ci?.ref]) expect(hasUnsafeChar(String(text))).toBe(false)
    const record = { ...sampleRecord(), actor: origin.actor, actorType: origin.actorType, ci: origin.ci, git: origin.git }
    expect(checkRecord(JSON.parse(JSON.stringify(record)), { store: true })).toMatchObject({ ok: true })
  })
  it('leaves out a CI run URL it cannot record safely', async () => {
    const origin = await detectOrigin(os.tmpdir(), { ...baseEnv, CI: 'true', GITLAB_CI: 'true', CI_JOB_URL: 'javascript:alert(1)' })
    expect(origin.ci).toEqual({ provider: 'gitlab' })
  })
})
