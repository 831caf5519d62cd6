/**
 * CI reports around a real staging: the built CLI in an emulated GitHub Actions job (its variables,
 * and real files for $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT) and an emulated GitLab CI job (the
 * dotenv report), against the suite's Verdaccio for the review. The outputs file and the step's log are
 * read with a port of the runner's own parsers (test/support/actions-runner.ts). The package is hostile:
 * its file names and install script try to set outputs, mask values and stop command processing.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, sandbox, uniqueName, type Sandbox } from '../support/cli.js'
import { runnerCommands, runnerOutputs } from '../support/actions-runner.js'
import { workspace } from '../support/workspace.js'

let registry: TestRegistry

beforeAll(async () => {
  registry = await sharedRegistry()
})

/** What an attacker who controls the package writes: every way into the runner they can put in a name. */
const INJECT = {
  script: 'node setup.js\n::set-output name=id::pwned-by-script\n##[set-output name=integrity;]pwned\n::stop-commands::tok',
  files: {
    '##[set-output name=id;]pwned-by-file.js': '1',
    '::add-mask::sha512.js': '1',
    '::set-output name=shasum::pwned-by-colons.js': '1',
    '<img src=x onerror=alert(1)>[x](javascript:alert(1)).js': '1',
  },
}

async function hostilePackage(sb: Sandbox): Promise<{ pkg: string; name: string }> {
  const name = uniqueName('ci-report')
  const pkg = await sb.makePackage(name, { version: '1.0.0', scripts: { postinstall: INJECT.script } }, INJECT.files)
  return { pkg, name }
}

/** A GitHub Actions job's environment, with empty files for the summary and the outputs as the runner creates them. */
async function githubJob(sb: Sandbox): Promise<{ env: NodeJS.ProcessEnv; summary: string; output: string }> {
  const summary = path.join(sb.dir, 'step_summary')
  const output = path.join(sb.dir, 'set_output')
  await fs.writeFile(summary, '')
  await fs.writeFile(output, '')
  const env = {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    GITHUB_REPOSITORY: 'owner/repo',
    GITHUB_RUN_ID: '42',
    GITHUB_ACTOR: 'octocat',
    GITHUB_REF: 'refs/heads/main',
  }
  return { env, summary, output }
}

interface Staged {
  id: string
  integrity: string
  shasum: string
}

describe('GitHub Actions', () => {
  it('writes the summary, the outputs and one warning per danger finding, and nothing hostile reaches the runner', async () => {
    const sb = await sandbox()
    const { pkg, name } = await hostilePackage(sb)
    const job = await githubJob(sb)
    for (const json of [false, true]) {
      await fs.writeFile(job.output, '')
      // A backend per run: the same version cannot wait twice in one.
      const backend = `file:${path.join(sb.dir, json ? 'store-json' : 'store')}`
      const r = await sb.run([...(json ? ['--json'] : []), '--backend', backend, '--registry', registry.url], { cwd: pkg, env: job.env })
      expect(r.code, r.all).toBe(0)

      // The outputs file, read as the runner reads it: exactly our outputs, with the staged values.
      const outputs = runnerOutputs(await fs.readFile(job.output, 'utf8'))
      expect(Object.keys(outputs).sort()).toEqual(['approve-command', 'danger', 'id', 'ids', 'integrity', 'releases', 'shasum'])
      const id = json ? parseJson<Staged>(r.stdout).id : /staged with id ([0-9a-f-]{36})/.exec(r.stdout)?.[1]
      expect(outputs.id).toBe(id)
      expect(outputs.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/)
      expect(outputs.shasum).toMatch(/^[0-9a-f]{40}$/)
      expect(JSON.parse(outputs.ids as string)).toEqual([id])
      expect(outputs['approve-command']).toBe(`npx stage-publish approve ${id} --backend ${backend}`)
      expect(outputs.danger).toBe('1')

      // The step's log, read as the runner reads it: our warning, and not one command of the attacker's.
      const acted = runnerCommands(r.stdout, r.stderr)
      expect(acted.map((c) => c.command)).toEqual(['warning'])
      expect(acted[0]?.properties.title).toBe(`stage-publish: ${name}@1.0.0 INSTALL_SCRIPT_ADDED`)
      expect(acted[0]?.data).toContain(`staged release ${id}`)
      // The attack is there in the log, shown, not acted on.
      if (!json) expect(r.stderr).toContain('#\\x23[set-output name=id;]pwned-by-file.js')
      if (json) expect(parseJson<{ files: Array<{ path: string }> }>(r.stdout).files.map((f) => f.path)).toContain('##[set-output name=id;]pwned-by-file.js')
    }

    const summary = await fs.readFile(job.summary, 'utf8')
    // Appended per run, as the runner expects: two stagings, two reports.
    expect(summary.match(/^### stage-publish: staged a release, nothing is public yet$/gm)).toHaveLength(2)
    expect(summary).toContain('**1 danger**')
    expect(summary).toContain('INSTALL\\_SCRIPT\\_ADDED')
    expect(summary).toContain(`--backend file:${path.join(sb.dir, 'store-json')}\n\`\`\``)
    // Package text is never markup: no raw tag, link or image, no line of its own.
    expect(summary).not.toMatch(/<img|\]\(javascript|^::|^##\[/m)
  })

  it('a release set: set-id and ids, one report for the set', async () => {
    const { sb, root, names } = await workspace()
    const job = await githubJob(sb)
    const r = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root, env: job.env })
    expect(r.code, r.all).toBe(0)
    const { setId, releases } = parseJson<{ setId: string; releases: Array<{ id: string; name: string }> }>(r.stdout)
    const outputs = runnerOutputs(await fs.readFile(job.output, 'utf8'))
    expect(outputs['set-id']).toBe(setId)
    expect(JSON.parse(outputs.ids as string)).toEqual(releases.map((x) => x.id))
    expect(outputs).not.toHaveProperty('id')
    expect(outputs['approve-command']).toBe(`npx stage-publish approve ${setId} --backend ${sb.backend}`)
    const summary = await fs.readFile(job.summary, 'utf8')
    expect(summary).toContain(`release set ${setId.replace(/-/g, '\\-')} (3 packages)`)
    for (const n of [names.a, names.b, names.c]) expect(summary).toContain(`#### ${n.replace(/-/g, '\\-')}\\@1\\.0\\.0`)
  })

  it('writes nothing outside GitHub Actions, even with the file variables set', async () => {
    const sb = await sandbox()
    const { pkg } = await hostilePackage(sb)
    const job = await githubJob(sb)
    const env = { ...job.env, GITHUB_ACTIONS: '' }
    const r = await sb.run(['--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env })
    expect(r.code, r.all).toBe(0)
    expect(await fs.readFile(job.summary, 'utf8')).toBe('')
    expect(await fs.readFile(job.output, 'utf8')).toBe('')
    expect(r.all).not.toContain('::warning')
    await expect(fs.access(path.join(pkg, 'stage-publish.env'))).rejects.toThrow()

    // In CI, a dry run stages nothing and so reports nothing.
    const dry = await sb.run(['--dry-run', '--backend', `file:${path.join(sb.dir, 'store-dry')}`, '--registry', registry.url], { cwd: pkg, env: { ...job.env, GITLAB_CI: 'true' } })
    expect(dry.code, dry.all).toBe(0)
    expect(await fs.readFile(job.summary, 'utf8')).toBe('')
    expect(await fs.readFile(job.output, 'utf8')).toBe('')
    expect(dry.all).not.toContain('::warning')
  })

  it('a summary file that cannot be written is a warning; the release is staged', async () => {
    const sb = await sandbox()
    const { pkg } = await hostilePackage(sb)
    const job = await githubJob(sb)
    const env = { ...job.env, GITHUB_STEP_SUMMARY: path.join(sb.dir, 'no-such-dir', 'summary') }
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env })
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain('could not write the job summary ($GITHUB_STEP_SUMMARY) (ENOENT); the release is staged all the same')
    expect(runnerOutputs(await fs.readFile(job.output, 'utf8')).id).toBe(parseJson<Staged>(r.stdout).id)
  })
})

describe('GitLab CI', () => {
  const parseDotenv = (text: string): Record<string, string> =>
    Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          // GitLab's rules: NAME=value, ASCII letters, digits and _ in names; no spaces or quotes in values.
          expect(line).toMatch(/^[A-Za-z0-9_]+=[!#-&(-~]*$/)
          return [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]
        }),
    )

  it('writes the dotenv report in $CI_PROJECT_DIR, or at STAGE_PUBLISH_DOTENV', async () => {
    const sb = await sandbox()
    const { pkg } = await hostilePackage(sb)
    const project = path.join(sb.dir, 'project')
    await fs.mkdir(project)
    const env = { CI: 'true', GITLAB_CI: 'true', CI_PROJECT_DIR: project, CI_PROJECT_PATH: 'group/project', CI_JOB_ID: '7' }
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env })
    expect(r.code, r.all).toBe(0)
    const staged = parseJson<Staged>(r.stdout)
    expect(parseDotenv(await fs.readFile(path.join(project, 'stage-publish.env'), 'utf8'))).toEqual({
      STAGE_PUBLISH_ID: staged.id,
      STAGE_PUBLISH_INTEGRITY: staged.integrity,
      STAGE_PUBLISH_SHASUM: staged.shasum,
      STAGE_PUBLISH_DANGER: '1',
      STAGE_PUBLISH_IDS: staged.id,
    })
    // No GitHub workflow commands in a GitLab log.
    expect(r.all).not.toContain('::warning')

    const { sb: sb2, root } = await workspace()
    const file = path.join(sb2.dir, 'reports', 'staged.env')
    await fs.mkdir(path.dirname(file))
    const set = await sb2.run(['--workspaces', '--json', '--backend', sb2.backend, '--registry', registry.url], { cwd: root, env: { ...env, STAGE_PUBLISH_DOTENV: file } })
    expect(set.code, set.all).toBe(0)
    const { setId, releases } = parseJson<{ setId: string; releases: Array<{ id: string }> }>(set.stdout)
    const vars = parseDotenv(await fs.readFile(file, 'utf8'))
    expect(vars.STAGE_PUBLISH_SET_ID).toBe(setId)
    expect(vars.STAGE_PUBLISH_IDS).toBe(releases.map((x) => x.id).join(','))
    expect(vars).not.toHaveProperty('STAGE_PUBLISH_ID')
  })
})
