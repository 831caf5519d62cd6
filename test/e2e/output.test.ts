/**
 * The one door to the terminal, end to end: a record rewritten by someone holding the CI
 * credential cannot reach the approver's terminal raw through list, view or reject, view describes
 * only what the verified bytes prove, and colour follows --color / --no-color / NO_COLOR /
 * FORCE_COLOR / npm's color and each stream's own terminal.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, sandbox, uniqueName, type Sandbox } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

/** A value that tries everything: a line of its own, CR, SGR, a window title, a link, bidi, invisible and C1 characters. */
const evil = (tag: string): string =>
  `${tag}\nFORGED ${tag}: verified, approved\r\u001b[2K\u001b[32mOK\u001b]0;pwned\u0007\u001b]8;;https://evil.example/\u0007link\u001b]8;;\u0007\u202e\u2066\u200b\u009b\u0085\u2028`

/** Raw characters that must never reach a terminal. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/
const OUR_SGR = /\u001b\[[0-9;]*m/g

function expectInert(text: string, opts: { colored?: boolean } = {}): void {
  if (opts.colored) expect(text).not.toContain('\u001b[32mOK')
  const rest = opts.colored ? text.replace(OUR_SGR, '') : text
  expect(rest).not.toMatch(RAW)
  for (const line of rest.split('\n')) expect(line).not.toMatch(/^\s*FORGED/)
}

async function stagedRecord(sb: Sandbox, files: Record<string, string> = {}) {
  const pkg = await sb.makePackage(uniqueName('door'), { version: '1.0.0' }, files)
  const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
  expect(r.code, r.all).toBe(0)
  const { id } = parseJson<{ id: string }>(r.stdout)
  const file = path.join(sb.store, 'records', `${id}.json`)
  const record = parseJson<Record<string, unknown>>(await fs.readFile(file, 'utf8'))
  return { id, file, record, rewrite: (over: Record<string, unknown>) => fs.writeFile(file, JSON.stringify({ ...record, ...over })) }
}

describe('hostile record fields never reach the terminal raw', () => {
  it('list, view (human and --json) and reject', async () => {
    const sb = await sandbox()
    const s = await stagedRecord(sb)
    const hostile: Record<string, unknown> = {
      actor: evil('actor'),
      git: { commit: evil('commit'), branch: evil('branch'), remote: evil('remote') },
      ci: { provider: 'github', runUrl: evil('ci') },
    }
    await s.rewrite(hostile)
    for (const args of [['list'], ['list', '--color'], ['view', s.id], ['view', s.id, '--color'], ['view', s.id, '--no-review']]) {
      const r = await sb.run([...args, '--backend', sb.backend])
      expectInert(r.all, { colored: args.includes('--color') })
      // The record schema refuses such a record (no control character in any field): list skips it, view refuses it.
      if (args[0] === 'list') {
        expect(r.code, r.all).toBe(0)
        expect(r.stderr).toContain(`skipped ${s.id}: The staged record ${s.id} is corrupt: actor`)
      } else {
        expect(r.code, r.all).toBe(1)
        expect(r.stderr).toContain('ECORRUPT')
      }
    }
    const json = await sb.run(['view', s.id, '--json', '--no-review', '--backend', sb.backend])
    expect(json.stdout).not.toMatch(RAW)
    expect(parseJson<{ error: { code: string } }>(json.stdout).error.code).toBe('ECORRUPT')

    const rejected = await sb.run(['reject', s.id, '--yes', '--reason', evil('reason'), '--backend', sb.backend])
    expectInert(rejected.all)
    for (const args of [['list', '--all'], ['view', s.id]]) expectInert((await sb.run([...args, '--backend', sb.backend])).all)
  })
})

describe('view shows only what the bytes prove', () => {
  it('lists the verified files; a record that claims 99 gets no file list at all, and says why', async () => {
    const sb = await sandbox()
    const s = await stagedRecord(sb)
    const honest = await sb.run(['view', s.id, '--backend', sb.backend])
    expect(honest.code, honest.all).toBe(0)
    expect(honest.stdout).toContain('Files (2, from the verified bytes)')
    expect(honest.stdout).toMatch(/\bindex\.js\b/)
    expect(honest.stdout).toMatch(/\bpackage\.json\b/)
    expect(honest.stdout).toContain("What the record says (the stager's claim, not verified):")

    await s.rewrite({
      fileCount: 99,
      unpackedSize: 99_999_999,
      files: Array.from({ length: 99 }, (_, i) => ({ path: `claimed-${i}.js`, size: 1, mode: 420 })),
    })
    const view = await sb.run(['view', s.id, '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    // The bytes match the recorded integrity, but the record's own account of them is false: tampered.
    expect(view.stdout).toMatch(/Not verified: EINTEGRITY: .*describes its tarball wrongly/)
    expect(view.stdout).not.toMatch(/claimed-|99 files|100\.0 MB|Files \(/)

    // Without verified bytes, no file list and no sizes at all: only why.
    const unchecked = await sb.run(['view', s.id, '--no-review', '--backend', sb.backend])
    expect(unchecked.code, unchecked.all).toBe(0)
    expect(unchecked.stdout).toContain('Not verified: the tarball was not checked (--no-review)')
    expect(unchecked.stdout).not.toMatch(/claimed-|99 files|100\.0 MB|Files \(/)
  })
})

describe('the approval summary shows only what the bytes prove', () => {
  it('before the one-time password: the verified file count, and hostile claims escaped under their heading', async () => {
    const sb = await sandbox()
    const s = await stagedRecord(sb)
    await s.rewrite({ actor: evil('actor'), fileCount: 99, unpackedSize: 99_999_999, files: [{ path: 'claimed.js', size: 1, mode: 420 }] })
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    // A wrong code: the summary is shown, then the registry refuses; nothing is published.
    const r = await sb.run(['approve', s.id, '--yes', '--otp', '000000', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expectInert(r.all)
    if (r.stderr.includes('Approve ')) {
      const summary = r.stderr.slice(r.stderr.indexOf('Approve '))
      expect(summary).toMatch(/packed, \S+ \S+ unpacked, 2 files/)
      expect(summary).not.toMatch(/99 files|100\.0 MB|claimed\.js/)
      expect(summary.indexOf('actor\\x0aFORGED')).toBeGreaterThan(summary.indexOf("What the record says (the stager's claim, not verified):"))
    } else {
      expect(r.code).not.toBe(0) // a record refused as corrupt is fine too: then nothing of it is shown as approvable
    }
  })
})

describe('colour', () => {
  const SGR = /\u001b\[[0-9;]*m/

  async function listed() {
    const sb = await sandbox()
    await stagedRecord(sb)
    const list = (args: string[], env: NodeJS.ProcessEnv = {}) => sb.run(['list', ...args, '--backend', sb.backend], { env })
    return { sb, list }
  }

  it('none into a pipe by default; --color forces it even with NO_COLOR=1; --no-color wins over FORCE_COLOR', async () => {
    const { list } = await listed()
    const plain = await list([], { NO_COLOR: '' })
    expect(plain.code, plain.all).toBe(0)
    expect(plain.all).not.toMatch(SGR)
    const forced = await list(['--color'], { NO_COLOR: '1' })
    expect(forced.stdout).toMatch(/\u001b\[1mID/)
    expect(forced.stderr).toMatch(SGR)
    expect((await list([], { NO_COLOR: '', FORCE_COLOR: '1' })).stdout).toMatch(SGR)
    expect((await list(['--no-color'], { FORCE_COLOR: '1' })).all).not.toMatch(SGR)
    expect((await list([], { NO_COLOR: '', npm_config_color: 'always' })).stdout).toMatch(SGR)
  })

  it('in a terminal: colour unless NO_COLOR=1 or --no-color; stdout redirected to a file stays plain while stderr keeps colour', async () => {
    const { sb } = await listed()
    const env = { ...sb.env, NO_COLOR: '' }
    const onTty = await runInPty(process.execPath, [BIN, 'list', '--backend', sb.backend], { cwd: sb.dir, env })
    expect(onTty.exitCode, onTty.text).toBe(0)
    expect(onTty.output).toMatch(/\u001b\[1mID/)
    const noColor = await runInPty(process.execPath, [BIN, 'list', '--backend', sb.backend], { cwd: sb.dir, env: { ...env, NO_COLOR: '1' } })
    expect(noColor.output).not.toMatch(SGR)
    const flag = await runInPty(process.execPath, [BIN, 'list', '--no-color', '--backend', sb.backend], { cwd: sb.dir, env })
    expect(flag.output).not.toMatch(SGR)

    const file = path.join(sb.dir, 'list.txt')
    const split = await runInPty('/bin/sh', ['-c', `"${process.execPath}" "${BIN}" list --backend "${sb.backend}" > "${file}"`], { cwd: sb.dir, env })
    expect(split.exitCode, split.text).toBe(0)
    const written = await fs.readFile(file, 'utf8')
    expect(written).toContain('ID')
    expect(written).not.toMatch(SGR)
    expect(split.output).toMatch(/\u001b\[2mApprove one with/) // the hint, on stderr, still on a terminal
  })

  it("approve follows npm's color from .npmrc (color=always through a pipe)", async () => {
    const sb = await sandbox()
    const s = await stagedRecord(sb)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const approve = () => sb.run(['approve', s.id, '--yes', '--otp', '000000', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc, NO_COLOR: '' } })
    const plain = await approve()
    expect(plain.stderr).toContain('Approve ')
    expect(plain.stderr).not.toMatch(SGR)
    await fs.appendFile(npmrc, '\ncolor=always\n')
    const colored = await approve()
    expect(colored.stderr).toMatch(/\u001b\[1mApprove /)
  })
})
