/**
 * Lifecycle scripts run at staging are announced as npm announces them (`> name@version event`,
 * then `> command`), on stdout before their output, exactly where `npm pack` prints them.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, run, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const scripts = {
  prepublishOnly: 'echo PREPUBLISHONLY-OUT',
  prepack: 'echo PREPACK-OUT',
  prepare: 'echo PREPARE-OUT',
  postpack: 'echo POSTPACK-OUT',
}

/** The banner and output of one script, as npm prints them. */
const block = (id: string, event: string, cmd: string, output: string) => `\n> ${id} ${event}\n> ${cmd}\n\n${output}\n`

describe('lifecycle script banners', () => {
  it('prints npm\'s banner before each script\'s output, in npm\'s order', async () => {
    const sb = await sandbox()
    const name = uniqueName('banners')
    const pkg = await sb.makePackage(name, { version: '1.0.0', scripts, files: ['index.js'] })
    const r = await sb.run(['--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    const id = `${name}@1.0.0`
    expect(r.stdout).toContain(
      block(id, 'prepublishOnly', scripts.prepublishOnly, 'PREPUBLISHONLY-OUT') +
        block(id, 'prepack', scripts.prepack, 'PREPACK-OUT') +
        block(id, 'prepare', scripts.prepare, 'PREPARE-OUT') +
        block(id, 'postpack', scripts.postpack, 'POSTPACK-OUT'),
    )
    // The pack scripts' banners are byte for byte what npm pack prints for the same package.
    const npmPack = await run('npm', ['pack', '--dry-run'], { cwd: pkg, env: sb.env })
    expect(npmPack.code, npmPack.all).toBe(0)
    const packPart = npmPack.stdout.slice(0, npmPack.stdout.indexOf('POSTPACK-OUT\n') + 'POSTPACK-OUT\n'.length)
    expect(r.stdout).toContain(packPart)
  })

  it('keeps --json stdout one JSON document: scripts run in the background, with no banner on stdout', async () => {
    const sb = await sandbox()
    const name = uniqueName('banners-json')
    const pkg = await sb.makePackage(name, { version: '1.0.0', scripts, files: ['index.js'] })
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<{ name: string }>(r.stdout).name).toBe(name)
    expect(r.stdout).not.toContain('> ')
  })
})
