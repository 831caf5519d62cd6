/**
 * Flags checked when the command line is parsed, before anything is read or sent: `--registry` has
 * npm's meaning on every command that talks to a registry and never carries credentials; `--access`
 * is public or restricted. And no hint names a flag its command does not have.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildProgram, main } from '../../src/cli.js'
import type { Deps } from '../../src/flows/context.js'
import { ROOT } from '../support/cli.js'

function capture(): { deps: () => Deps; text: () => string } {
  let text = ''
  const sink = new Writable({
    write: (c, _e, cb) => {
      text += String(c)
      cb()
    },
  })
  const deps = (): Deps => ({ cwd: '/nonexistent', env: {}, stdout: sink, stderr: sink, now: () => new Date(), newId: () => 'x' })
  return { deps, text: () => text }
}

const REGISTRY_COMMANDS: Array<[string, string[]]> = [
  ['publish', ['publish', '.']],
  ['view', ['view', '3f2a9c1e']],
  ['diff', ['diff', '3f2a9c1e']],
  ['list', ['list']],
  ['approve', ['approve', '3f2a9c1e']],
  ['reject', ['reject', '3f2a9c1e']],
  ['download', ['download', '3f2a9c1e']],
]

describe('--registry', () => {
  it('exists on every command that talks to a registry', () => {
    const program = buildProgram()
    for (const [name] of REGISTRY_COMMANDS) {
      const command = program.commands.find((c) => c.name() === name)
      expect(command?.options.map((o) => o.long), name).toContain('--registry')
    }
  })

  const bad: Array<[string, string, RegExp]> = [
    ['ftp://registry.example/', 'ftp', /http/],
    ['not a url', 'not a url', /http/],
    ['http://alice:hunter2secret@registry.example/', 'hunter2secret', /\.npmrc/],
    ['https://npm_abcdefghijklmnopqrstuvwxyz0123@registry.example/', 'npm_abcdefghijklmnopqrstuvwxyz0123', /\.npmrc/],
    ['https://registry.example/?token=s3cr3tvalue', 's3cr3tvalue', /\.npmrc/],
    ['https://registry.example/?_authToken=s3cr3tvalue', 's3cr3tvalue', /\.npmrc/],
  ]
  for (const [name, argv] of REGISTRY_COMMANDS) {
    it(`${name}: refuses what is not an http(s) URL, and credentials, without echoing them (EUSAGE, exit 2)`, async () => {
      for (const [value, secret, hint] of bad) {
        const out = capture()
        const code = await main(['node', 'stage-publish', ...argv, '--registry', value], out.deps)
        expect(code, value).toBe(2)
        expect(out.text(), value).toContain('EUSAGE')
        expect(out.text(), value).toMatch(hint)
        if (secret !== 'ftp') expect(out.text(), value).not.toContain(secret)
      }
    })
  }

  it('accepts an http(s) registry URL', async () => {
    const program = buildProgram(capture().deps)
    const view = program.commands.find((c) => c.name() === 'view')
    view?.action(() => undefined)
    await program.parseAsync(['node', 'stage-publish', 'view', '3f2a9c1e', '--registry', 'https://registry.example/npm/'])
    expect(view?.opts().registry).toBe('https://registry.example/npm/')
  })
})

describe('--access', () => {
  it('is public or restricted: anything else is a usage error before anything is packed', async () => {
    const program = buildProgram(capture().deps)
    let said = ''
    program.commands.find((c) => c.name() === 'publish')?.configureOutput({ writeErr: (s) => (said += s) })
    await expect(program.parseAsync(['node', 'stage-publish', 'publish', '/nonexistent', '--access', 'privat'])).rejects.toMatchObject({ code: 'commander.invalidArgument' })
    expect(said).toMatch(/Allowed choices are public, restricted/)
  })
})

describe('--auth-type', () => {
  // approve checked it deep in its flow; reject let a typo through as "legacy". Both refuse it while parsing now.
  for (const verb of ['approve', 'reject']) {
    it(`is legacy or web on ${verb}: anything else is a usage error before any backend is opened`, async () => {
      const program = buildProgram(capture().deps)
      let said = ''
      program.commands.find((c) => c.name() === verb)?.configureOutput({ writeErr: (s) => (said += s) })
      await expect(program.parseAsync(['node', 'stage-publish', verb, '3f2a9c1e', '--yes', '--auth-type', 'webauthn'])).rejects.toMatchObject({ code: 'commander.invalidArgument' })
      expect(said).toMatch(/Allowed choices are legacy, web/)
    })

    it(`exits 2 on ${verb} with a bad --auth-type`, async () => {
      const { deps } = capture()
      expect(await main(['node', 'stage-publish', verb, '3f2a9c1e', '--yes', '--auth-type', 'Legacy'], deps)).toBe(2)
    })
  }
})

describe('hints', () => {
  it('never name a flag the command they are printed by does not have', () => {
    const program = buildProgram()
    const flagsOf = new Map(program.commands.map((c) => [c.name(), new Set(c.options.map((o) => o.long))]))
    const src = path.join(ROOT, 'src')
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    const problems: string[] = []
    for (const file of files) {
      const text = readFileSync(path.join(src, file), 'utf8')
      // `stage-publish <verb> ... --flag` examples: the flag must exist on that verb.
      for (const m of text.matchAll(/stage-publish (publish|list|view|diff|approve|reject|download)\b([^`'"\n]*)/g)) {
        for (const flag of (m[2] ?? '').match(/--[a-z][a-z-]*/g) ?? []) {
          if (!flagsOf.get(m[1] as string)?.has(flag)) problems.push(`${file}: stage-publish ${m[1]} ${flag}`)
        }
      }
    }
    expect(problems).toEqual([])
  })
})
