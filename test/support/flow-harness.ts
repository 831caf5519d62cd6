/**
 * Everything an approval flow needs, in this process: the in-memory backend, a fake registry
 * (./fake-registry.ts) with the approver's npm configuration pointing at it, a clock the test moves,
 * scripted prompts that record what was asked, and an Output whose lines the test reads.
 * No Verdaccio, no child process: a flow test runs in milliseconds.
 */
import { randomUUID } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { createMemoryBackend, type MemoryBackend } from '../../src/backends/memory.js'
import type { Versioned } from '../../src/backends/types.js'
import type { DetailedRecord, StagedRecord } from '../../src/core/record.js'
import { newSetObject } from '../../src/core/release-set.js'
import type { ApprovalContext } from '../../src/flows/approve-one.js'
import type { ApproveOptions } from '../../src/commands/approve.js'
import type { Deps } from '../../src/flows/context.js'
import type { NpmConfig } from '../../src/npm/config.js'
import { readTarball, summarize } from '../../src/npm/tarball.js'
import { createOutput } from '../../src/ui/output.js'
import type { Prompts } from '../../src/ui/prompts.js'
import { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fake-registry.js'
import { pendingRecord } from './record-factory.mjs'
import { packageTgz } from './tarball-builder.js'

export const START = Date.parse('2026-12-02T12:00:00.000Z')
export const MINUTE = 60_000

/** A clock the test moves by hand. */
export interface Clock {
  now: () => Date
  advance(ms: number): void
}

export function clock(start = START): Clock {
  let t = start
  return { now: () => new Date(t), advance: (ms) => void (t += ms) }
}

/** Prompts that answer from a script and record every question; an unscripted question fails the test. */
export interface ScriptedPrompts extends Prompts {
  asked: Array<{ kind: 'confirm' | 'otp'; message: string }>
}

export function scriptedPrompts(script: { confirm?: boolean[]; otp?: string[] } = {}, interactive = true): ScriptedPrompts {
  const confirms = [...(script.confirm ?? [])]
  const codes = [...(script.otp ?? [])]
  const asked: ScriptedPrompts['asked'] = []
  return {
    interactive,
    asked,
    async confirm(message) {
      asked.push({ kind: 'confirm', message })
      const answer = confirms.shift()
      if (answer === undefined) throw new Error(`Unexpected confirmation asked: ${message}`)
      return answer
    },
    async otp(message) {
      asked.push({ kind: 'otp', message })
      const code = codes.shift()
      if (code === undefined) throw new Error(`Unexpected one-time password asked: ${message}`)
      return code
    },
  }
}

/** npm's configuration as the approver has it: the fake registry, with a token for it. */
export function fakeNpmConfig(registry: FakeRegistry, loggedIn = true): NpmConfig {
  const nerfed = registry.url.replace(/^https?:/, '')
  return {
    flat: { registry: registry.url, [`${nerfed}:_authToken`]: registry.token },
    localPrefix: process.cwd(),
    isDefault: () => true,
    get: () => undefined,
    hasCredentials: () => loggedIn,
    applyPublishConfig: () => undefined,
  }
}

export interface Harness {
  backend: MemoryBackend
  registry: FakeRegistry
  clock: Clock
  prompts: ScriptedPrompts
  ctx: ApprovalContext
  /** What went to stdout and stderr so far. */
  stdout(): string
  stderr(): string
  /** Stages a real package tarball with a record that describes it, as `stage-publish` would; `extra` fields win. */
  stage(name: string, version: string, manifest?: Record<string, unknown>, extra?: Partial<StagedRecord>): Promise<Staged>
  /** Stages a release set: its set object, then a record for each member. */
  stageSet(members: Array<{ name: string; version: string; manifest?: Record<string, unknown> }>): Promise<{ setId: string; members: Staged[] }>
  /** The stored record now. */
  record(id: string): Promise<StagedRecord>
  close(): Promise<void>
}

export interface Staged {
  current: Versioned
  bytes: Buffer
  id: string
}

export interface HarnessOptions {
  registry?: FakeRegistryOptions
  prompts?: ScriptedPrompts
  opts?: ApproveOptions
  authType?: 'legacy' | 'web'
  claimTimeoutMs?: number
  waitMs?: number
  loggedIn?: boolean
  json?: boolean
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const registry = await startFakeRegistry(options.registry)
  const backend = createMemoryBackend()
  const time = clock()
  const prompts = options.prompts ?? scriptedPrompts()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const text = { stdout: '', stderr: '' }
  stdout.on('data', (c: Buffer) => (text.stdout += c.toString()))
  stderr.on('data', (c: Buffer) => (text.stderr += c.toString()))
  const deps: Deps = { cwd: process.cwd(), env: {}, stdout, stderr, now: time.now, newId: randomUUID, publishFn: registry.publishFn, prompts }
  const out = createOutput({ json: Boolean(options.json), stdout, stderr, color: false, env: {} })
  const ctx: ApprovalContext = {
    opts: options.opts ?? {},
    deps,
    out,
    prompts,
    authType: options.authType ?? 'legacy',
    timing: { claimTimeoutMs: options.claimTimeoutMs ?? 10 * MINUTE, waitMs: options.waitMs ?? 0 },
    gate: { policy: {}, allow: [] },
    conf: fakeNpmConfig(registry, options.loggedIn ?? true),
    backend,
  }
  /** A real package tarball and a record that describes it, as `stage-publish` makes them. */
  async function build(name: string, version: string, manifest: Record<string, unknown>, extra: Partial<StagedRecord>) {
    const bytes = packageTgz({ name, version, ...manifest })
    const facts = summarize(bytes, await readTarball(bytes))
    const record = pendingRecord(bytes, {
      packageName: name,
      version,
      registry: registry.url,
      integrity: facts.integrity,
      shasum: facts.shasum,
      size: facts.size,
      unpackedSize: facts.unpackedSize,
      fileCount: facts.entryCount,
      files: facts.files,
      bundled: facts.bundled,
      createdAt: time.now().toISOString(),
      ...extra,
    })
    return { record, bytes }
  }

  return {
    backend,
    registry,
    clock: time,
    prompts,
    ctx,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    async stage(name, version, manifest = {}, extra = {}) {
      const { record, bytes } = await build(name, version, manifest, extra)
      const res = await backend.createRelease(record, bytes)
      if (!res.created) throw new Error(`staging ${name}@${version} failed: ${res.reason}`)
      return { current: { record, etag: res.etag }, bytes, id: record.id }
    },
    async stageSet(members) {
      // As `stage-publish --workspaces` does: the set object first, then its members' records.
      const setId = randomUUID()
      const built = await Promise.all(members.map((m) => build(m.name, m.version, m.manifest ?? {}, { setId, setMembers: members.map(({ name, version }) => ({ name, version })) })))
      const created = await backend.createSet(newSetObject(setId, time.now(), built.map((b) => b.record as DetailedRecord)))
      if (!created.created) throw new Error('set exists')
      const staged: Staged[] = []
      for (const { record, bytes } of built) {
        const res = await backend.createRelease(record, bytes)
        if (!res.created) throw new Error(`staging ${record.packageName} failed`)
        staged.push({ current: { record, etag: res.etag }, bytes, id: record.id })
      }
      return { setId, members: staged }
    },
    async record(id) {
      const v = await backend.getRecord(id)
      if (!v) throw new Error(`no record ${id}`)
      return v.record
    },
    close: () => registry.close(),
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
  try {
    await p
  } catch (err) {
    return err as Error & { code?: string; hint?: string }
  }
  throw new Error('expected a rejection, but it resolved')
}
