/**
 * Runs a table of hostile cases against one backend state, the way a maintainer would meet them:
 * one `list --json` for the whole backend, then `view <id> --json` and `approve <id> --yes --otp <code>`
 * for every case (in this process, four at a time; cases that could block, or that need their own
 * environment, as the real binary under a deadline). The backend is fingerprinted before and after and
 * the registry is asked what got published, so each case can be judged on everything at once.
 */
import { expect } from 'vitest'
import type { CliResult } from './cli.js'
import type { TestRegistry } from './verdaccio.js'
import { changedEntries, credentialPool, inBatches, publishedAmong, reportedCodes, runInProcess, runSpawned, unsafeCharIn } from './hostile.js'

export interface HostileCase {
  name: string
  /** The agreed refusal code; alternatives only where BRIEF.md leaves two readings open (said in the case). */
  expect: string | string[]
  /** The staged release id the maintainer names. */
  id: string
  /** Every package name the bytes mention: none of them may be published. */
  names: string[]
  /**
   * Run as the real binary, each command killed after `deadlineMs` and required to answer within
   * `answerWithinMs` (FIFOs, /dev/zero, limits set through the environment).
   */
  spawned?: { env?: NodeJS.ProcessEnv; answerWithinMs?: number }
}

export interface Outcome {
  view: CliResult & { ms: number }
  approve: CliResult & { ms: number }
}

export interface AttackResult {
  outcomes: Map<string, Outcome>
  list: CliResult & { ms: number }
  /** Backend entries that differ after every command ran (paths, or S3 keys). */
  changed: string[]
  /** Names the registry has any version of, after every command ran. */
  published: string[]
}

export interface Battlefield {
  registry: TestRegistry
  backend: string
  /** A fingerprint of the whole backend (files or keys → hash / ETag). */
  snapshot(): Promise<Map<string, string>>
  /** The maintainer's folder and environment (its own HOME and npm settings; see sandbox()). */
  cwd: string
  env: NodeJS.ProcessEnv
  /** Where approvers' .npmrc files go. */
  dir: string
  /** `list` reads every record: where one can block (a FIFO), list runs as the real binary under the deadline too. */
  spawnList?: boolean
}

const SPAWN_DEADLINE_MS = 15_000

export async function attack(cases: readonly HostileCase[], field: Battlefield): Promise<AttackResult> {
  // HOSTILE_DEBUG=1 prints each step with a time stamp: how a hanging case was found.
  const debug = process.env.HOSTILE_DEBUG ? (m: string) => console.warn(`[hostile ${new Date().toISOString()}] ${m}`) : () => undefined
  const before = await field.snapshot()
  debug('snapshot taken')
  const pool = credentialPool(field.registry, field.dir)
  const base = { cwd: field.cwd, env: field.env }
  const listArgs = ['list', '--all', '--json', '--backend', field.backend]
  const list = field.spawnList ? await runSpawned(listArgs, { ...base, deadlineMs: 6000 }) : await runInProcess(listArgs, base)
  debug('list done')
  const run = async (c: HostileCase): Promise<Outcome> => {
    const o = await runCase(c)
    debug(`done ${c.name}: view ${o.view.ms} ms, approve ${o.approve.ms} ms`)
    // Slow cases are worth knowing about: the corpus has a time budget, and an attack may be a delay.
    if (o.view.ms + o.approve.ms > 3000) console.warn(`slow hostile case (view ${o.view.ms} ms, approve ${o.approve.ms} ms): ${c.name}`)
    return o
  }
  const runCase = async (c: HostileCase): Promise<Outcome> => {
    debug(`start ${c.name}`)
    const cred = await pool.next()
    const asApprover = { ...field.env, NPM_CONFIG_USERCONFIG: cred.npmrc }
    // --wait 1s: a record that pretends to be mid-approval must not keep the corpus waiting a minute.
    const approveArgs = ['approve', c.id, '--yes', '--otp', cred.otp, '--wait', '1s', '--backend', field.backend]
    const viewArgs = ['view', c.id, '--json', '--backend', field.backend]
    if (c.spawned) {
      const env = { ...c.spawned.env }
      // An attack that blocks is killed a little after the time it had to answer in.
      const deadlineMs = c.spawned.answerWithinMs ? c.spawned.answerWithinMs + 1000 : SPAWN_DEADLINE_MS
      const view = await runSpawned(viewArgs, { ...base, env: { ...field.env, ...env }, deadlineMs })
      const approve = await runSpawned(approveArgs, { ...base, env: { ...asApprover, ...env }, deadlineMs })
      return { view, approve }
    }
    const view = await runInProcess(viewArgs, base)
    const approve = await runInProcess(approveArgs, { ...base, env: asApprover })
    return { view, approve }
  }
  const inProcess = cases.filter((c) => !c.spawned)
  const spawned = cases.filter((c) => c.spawned)
  const [a, b] = await Promise.all([inBatches(inProcess, 4, run), inBatches(spawned, 2, run)])
  const outcomes = new Map<string, Outcome>()
  inProcess.forEach((c, i) => outcomes.set(c.name, a[i] as Outcome))
  spawned.forEach((c, i) => outcomes.set(c.name, b[i] as Outcome))
  const after = await field.snapshot()
  debug('second snapshot taken')
  const published = await publishedAmong(field.registry, cases.flatMap((c) => c.names))
  return { outcomes, list, changed: changedEntries(before, after), published }
}

const codesOf = (c: HostileCase): string[] => (Array.isArray(c.expect) ? c.expect : [c.expect])

const show = (r: CliResult): string => `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 1500)}\n--- stderr\n${r.stderr.slice(0, 1500)}`

/** Everything one hostile case must satisfy, each failure saying what the CLI actually did. */
export function expectRefused(c: HostileCase, result: AttackResult): void {
  const outcome = result.outcomes.get(c.name)
  expect(outcome, `no outcome for ${c.name}`).toBeDefined()
  const { view, approve } = outcome as Outcome
  const wanted = codesOf(c)

  // Nothing published, nothing in the backend changed (attributed to this case by its id).
  expect(result.published.filter((n) => c.names.includes(n)), `published by ${c.name}`).toEqual([])
  expect(result.changed.filter((k) => k.includes(c.id)), `backend entries changed by ${c.name}`).toEqual([])

  // approve: refused with the agreed code, exit 1.
  const approveCodes = reportedCodes(approve)
  expect(approveCodes.filter((x) => wanted.includes(x)), `approve should report ${wanted.join(' or ')}:\n${show(approve)}`).not.toEqual([])
  expect(approve.code, `approve exit code:\n${show(approve)}`).toBe(1)

  // view --json: either it fails with the code (exit 1), or it shows the record with reviewError.code (exit 0).
  const viewCodes = reportedCodes(view)
  expect(viewCodes.filter((x) => wanted.includes(x)), `view --json should report ${wanted.join(' or ')}:\n${show(view)}`).not.toEqual([])
  let json: { error?: unknown; reviewError?: unknown } | undefined
  try {
    json = JSON.parse(view.stdout) as typeof json
  } catch {
    json = undefined
  }
  expect(json, `view --json stdout must be one JSON document:\n${show(view)}`).toBeDefined()
  expect(view.code, `view exit code:\n${show(view)}`).toBe(json?.error ? 1 : 0)

  // No raw control, bidi or zero-width character anywhere a terminal could see it.
  for (const [what, r] of [['view', view], ['approve', approve]] as const) {
    expect(unsafeCharIn(r.all), `raw unsafe character in ${what} output`).toBeNull()
  }
  if (c.spawned) {
    const within = c.spawned.answerWithinMs ?? SPAWN_DEADLINE_MS
    expect(view.ms, `view took ${view.ms} ms`).toBeLessThan(within)
    expect(approve.ms, `approve took ${approve.ms} ms`).toBeLessThan(within)
  }
}

/** `list --json` over the whole hostile backend: it still answers, with clean output and a JSON array. */
export function expectListSurvives(result: AttackResult): Array<{ id: string }> {
  const { list } = result
  expect(list.code, show(list)).toBe(0)
  expect(unsafeCharIn(list.all), 'raw unsafe character in list output').toBeNull()
  const items = JSON.parse(list.stdout) as Array<{ id: string }>
  expect(Array.isArray(items)).toBe(true)
  return items
}
