/**
 * The approvers' own rules (policy, required approvals, backend) live in their project's package.json
 * `stagePublish`: a file that does not parse must stop the command, never read as "no rules".
 */
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readProjectStageConfig } from '../../src/flows/context.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})
async function project(packageJson: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sp-project-'))
  dirs.push(dir)
  await writeFile(path.join(dir, 'package.json'), packageJson)
  await mkdir(path.join(dir, 'sub'))
  return path.join(dir, 'sub')
}

describe('readProjectStageConfig', () => {
  it('reads stagePublish from the nearest package.json above the folder', async () => {
    const cwd = await project(JSON.stringify({ name: 'x', stagePublish: { approvals: { required: 2 } } }))
    expect((await readProjectStageConfig(cwd)).config).toEqual({ approvals: { required: 2 } })
  })

  it('refuses a package.json that is not JSON instead of approving with no rules (ECONFIG)', async () => {
    const cwd = await project('{ "name": "x", "stagePublish": { "approvals": { "required": 2 } }, }')
    await expect(readProjectStageConfig(cwd)).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('not valid JSON') as unknown })
  })

  it('a package.json without stagePublish (or null) has no rules', async () => {
    expect((await readProjectStageConfig(await project('null'))).config).toBeUndefined()
    expect((await readProjectStageConfig(await project('{"name":"x"}'))).config).toBeUndefined()
  })
})
