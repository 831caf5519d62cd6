/** A fresh package staged by the real CLI into a file backend: the set-up most approval e2e tests start from. */
import path from 'node:path'
import { expect } from 'vitest'
import { parseJson, sandbox, uniqueName } from './cli.js'
import type { TestRegistry } from './verdaccio.js'

/** A new package `<prefix>-…@1.0.0` in a new sandbox, staged with `--json` for `targetRegistry`. */
export async function stageFresh(prefix: string, targetRegistry: string) {
  const sb = await sandbox()
  const name = uniqueName(prefix)
  const pkg = await sb.makePackage(name, { version: '1.0.0' })
  const r = await sb.run(['--json', '--backend', sb.backend, '--registry', targetRegistry], { cwd: pkg })
  expect(r.code, r.all).toBe(0)
  const { id, integrity } = parseJson<{ id: string; integrity: string }>(r.stdout)
  return { sb, name, pkg, id, integrity }
}

/** Staged as stageFresh does, and an approver: a new user with 2FA, whose npm config (`env`) points at `targetRegistry`. */
export async function stageForApprover(registry: TestRegistry, prefix: string, targetRegistry = registry.url) {
  const staged = await stageFresh(prefix, targetRegistry)
  const approver = await registry.createUser()
  const npmrc = await approver.writeNpmrc(path.join(staged.sb.dir, 'approver'), targetRegistry)
  return { ...staged, approver, env: { ...staged.sb.env, NPM_CONFIG_USERCONFIG: npmrc } }
}
