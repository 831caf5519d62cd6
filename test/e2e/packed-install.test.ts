/**
 * The package as users get it: `npm pack` of this repository installed into an empty folder, with no
 * node_modules of ours anywhere above it. The CLI is a bundle (scripts/build.mjs), so anything the bundle
 * still resolves at run time (a require.resolve, a file next to a library, a forgotten external) shows
 * up here and nowhere else: the other e2e tests run bin/ inside the repository, next to node_modules.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { ROOT, parseJson, publishedIntegrity, run, sandbox, uniqueName, type Sandbox } from '../support/cli.js'

let registry: TestRegistry
let installed: { sb: Sandbox; bin: string; app: string }

beforeAll(async () => {
  registry = await sharedRegistry()
  const sb = await sandbox()
  // dist/ is built already (the e2e tests need it): pack it as it is, without running prepack again.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', sb.dir], { cwd: ROOT, env: sb.env })
  expect(packed.code, packed.all).toBe(0)
  const { filename } = parseJson<Array<{ filename: string }>>(packed.stdout)[0]!
  const app = path.join(sb.dir, 'app')
  await fs.mkdir(app)
  await fs.writeFile(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}')
  // --offline: a package with no dependencies needs nothing from a registry.
  const install = await run('npm', ['install', '--offline', '--ignore-scripts', path.join(sb.dir, filename)], { cwd: app, env: sb.env })
  expect(install.code, install.all).toBe(0)
  installed = { sb, app, bin: path.join(app, 'node_modules', 'stage-publish', 'bin', 'stage-publish.js') }
}, 120_000)

const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  run(process.execPath, [installed.bin, ...args], { cwd: opts.cwd ?? installed.sb.dir, env: { ...installed.sb.env, ...opts.env } })

describe('the packed and installed CLI', () => {
  it('installs alone: no dependency packages, the AWS SDK left to the user', async () => {
    const entries = (await fs.readdir(path.join(installed.app, 'node_modules'))).filter((e) => !e.startsWith('.'))
    expect(entries).toEqual(['stage-publish'])
    const notices = await fs.readFile(path.join(installed.app, 'node_modules', 'stage-publish', 'dist', 'THIRD-PARTY-NOTICES.txt'), 'utf8')
    expect(notices).toMatch(/^pacote@\S+ — ISC$/m)
    expect(notices).toMatch(/^commander@\S+ — MIT$/m)
  })

  it('stages with lifecycle scripts that call node-gyp, and publishes on approval', async () => {
    const { sb } = installed
    const name = uniqueName('packed')
    const scripts = { prepublishOnly: 'node-gyp --version > before.txt', prepack: 'node-gyp --version > gyp.txt' }
    const pkg = await sb.makePackage(name, { version: '1.0.0', scripts })
    const staged = await cli(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(staged.code, staged.all).toBe(0)
    // npm's own node-gyp ran (the bundle ships none), from both kinds of script.
    expect(await fs.readFile(path.join(pkg, 'before.txt'), 'utf8')).toMatch(/^v\d+\.\d+\.\d+/)
    expect(await fs.readFile(path.join(pkg, 'gyp.txt'), 'utf8')).toMatch(/^v\d+\.\d+\.\d+/)
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)

    const help = await cli(['approve', '--help'])
    expect(help.code, help.all).toBe(0)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const approved = await cli(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approved.code, approved.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('names the install command when the S3 backend is used without the AWS SDK', async () => {
    const r = await cli(['list', '--backend', 's3://stage-publish-probe/x?region=us-east-1&endpoint=http://127.0.0.1:9&forcePathStyle=true'])
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('The S3 backend needs the AWS SDK (@aws-sdk/client-s3), which is not installed')
    expect(r.stderr).toContain('npm install --save-dev @aws-sdk/client-s3')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
