/**
 * The hostile corpus's tools: an attacker with create rights writes records and tarballs straight into a
 * backend (a local directory or S3), then the real CLI reads them. These helpers write those bytes, run the
 * CLI (in this process through `main(argv, deps)`, or as the real binary with a deadline), and take the
 * evidence: the error code, raw control characters in any output, what the registry published, and a
 * fingerprint of the whole backend before and after.
 */
import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { Pax, Parser, type ReadEntry } from 'tar'
import { createRequire } from 'node:module'
import { gunzipSync } from 'node:zlib'
import { main } from '../../src/cli.js'
import type { StagedRecord } from '../../src/core/record.js'
import type { TestRegistry } from './verdaccio.js'
import { BIN, type CliResult } from './cli.js'
import { pendingRecord } from './record-factory.mjs'
import { tarOf, type TarEntry } from './tarball-builder.js'

const validateName = createRequire(import.meta.url)('validate-npm-package-name') as (name: string) => { validForOldPackages: boolean }

/**
 * Characters that must never reach a terminal raw: C0 except \n and \t, DEL, C1, bidi embeddings,
 * overrides and isolates, and zero-width characters. JSON output escapes C0 itself; the rest would not be.
 */
export const UNSAFE_CHAR = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/u

/** The first unsafe character of `text` with some context, escaped, for a readable failure; null when clean. */
export function unsafeCharIn(text: string): string | null {
  const m = UNSAFE_CHAR.exec(text)
  if (!m) return null
  const at = m.index
  return JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))
}

/** Every refusal code the areas agreed on (BRIEF.md). */
export const AGREED_CODES = ['EUNSAFETARBALL', 'ETOOLARGE', 'ECORRUPT', 'EINTEGRITY', 'ESETMISMATCH', 'EUSAGE'] as const

// ---------------------------------------------------------------- records and tarballs

/**
 * The file facts a stager would record (path without `package/`, size, mode), read with a tolerant parser
 * of our own, not the code under test. Bytes that do not parse get a plausible placeholder.
 */
export function factsOf(bytes: Buffer): Pick<StagedRecord, 'unpackedSize' | 'fileCount' | 'files' | 'bundled'> {
  const files: Array<{ path: string; size: number; mode: number }> = []
  try {
    const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes
    const parser = new Parser({
      onReadEntry: (e: ReadEntry) => {
        const rel = e.path.replace(/^package\//, '')
        // A record is the attacker's too, but these cases test the bytes: the record lists only what a
        // valid record may hold, so that only the tarball's shape can be the reason for a refusal.
        const plain = /^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(rel) && !rel.split('/').some((s) => s === '..' || s === '.' || s === '') && !rel.includes('\\')
        if (e.type === 'File' && e.path.startsWith('package/') && plain) files.push({ path: rel, size: e.size ?? 0, mode: (e.mode ?? 0o644) & 0o777 })
        e.resume()
      },
    })
    parser.end(tar)
  } catch {
    // Not a tarball: the placeholder below.
  }
  if (!files.length) files.push({ path: 'package.json', size: 100, mode: 0o644 })
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { unpackedSize: files.reduce((n, f) => n + f.size, 0), fileCount: files.length, files, bundled: [] }
}

/** A record that matches `bytes` exactly (digests, sizes, files) for a package the tarball names: valid in every field. */
export const recordFor = (bytes: Buffer, pkg: { name: string; version: string }, registry: string, over: Partial<StagedRecord> = {}): StagedRecord =>
  pendingRecord(bytes, {
    packageName: pkg.name,
    version: pkg.version,
    registry,
    ...factsOf(bytes),
    actor: 'release-bot',
    git: { commit: '0123456789abcdef0123456789abcdef01234567', branch: 'main', remote: 'https://github.com/acme/lib.git', dirty: false },
    ci: { provider: 'github-actions', runUrl: 'https://github.com/acme/lib/actions/runs/1', workflow: 'release', ref: 'refs/tags/v1.0.0' },
    ...over,
  })

/**
 * An entry whose path travels in a pax extended header, so it arrives byte for byte (NUL, ESC, CR, LF,
 * bidi and zero-width characters that a ustar name field would truncate or mangle). The ustar header
 * itself carries a harmless placeholder name.
 */
export function paxPathEntry(hostilePath: string, data: string | Buffer = 'x\n'): Buffer {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data)
  const pax = new Pax({ path: hostilePath }).encode()
  const file = tarOf([{ path: 'package/placeholder', data: body }]).subarray(0, -1024)
  return Buffer.concat([pax, file])
}

/** A tar archive from entries and raw pieces (such as paxPathEntry), in order, with its end-of-archive blocks. */
export function tarWith(parts: Array<TarEntry | Buffer>): Buffer {
  return Buffer.concat([...parts.map((p) => (Buffer.isBuffer(p) ? p : tarOf([p]).subarray(0, -1024))), Buffer.alloc(1024)])
}

// ---------------------------------------------------------------- local backend

/** What an attacker with write access to the staging folder writes: any bytes (or none) under the final names. */
export async function writeLocal(store: string, id: string, files: { record?: string | Buffer; tarball?: Buffer }): Promise<{ recordFile: string; tarballFile: string }> {
  const recordFile = path.join(store, 'records', `${id}.json`)
  const tarballFile = path.join(store, 'tarballs', `${id}.tgz`)
  await ensureStore(store)
  if (files.tarball !== undefined) await fs.writeFile(tarballFile, files.tarball, { mode: 0o600 })
  if (files.record !== undefined) await fs.writeFile(recordFile, files.record, { mode: 0o600 })
  return { recordFile, tarballFile }
}

/** The folders the local backend would create, created up front so that creating them is not mistaken for a change. */
export async function ensureStore(store: string): Promise<void> {
  for (const d of ['records', 'tarballs', 'locks', 'tmp']) await fs.mkdir(path.join(store, d), { recursive: true, mode: 0o700 })
}

/**
 * A fingerprint of every entry under `dir`: content hashes for files, targets for symlinks, type and mode
 * for anything else. Never opens a non-regular file (a FIFO would block, /dev/zero would not end).
 */
export async function snapshotDir(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (rel: string): Promise<void> => {
    const full = path.join(dir, rel)
    const st = await fs.lstat(full)
    if (st.isDirectory()) {
      out.set(`${rel}/`, `dir ${(st.mode & 0o7777).toString(8)}`)
      for (const name of (await fs.readdir(full)).sort()) await walk(rel ? `${rel}/${name}` : name)
    } else if (st.isSymbolicLink()) {
      out.set(rel, `symlink -> ${await fs.readlink(full)}`)
    } else if (st.isFile()) {
      out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(await fs.readFile(full)).digest('hex')}`)
    } else {
      out.set(rel, `special ${st.mode.toString(8)}`)
    }
  }
  await walk('')
  return out
}

/** The entries that differ between two fingerprints (added, removed or changed). */
export function changedEntries(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()])
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort()
}

// ---------------------------------------------------------------- running the CLI

export interface RunOptions {
  cwd: string
  env: NodeJS.ProcessEnv
}

/**
 * The real CLI in this process: src/cli.ts `main` with injected stdout/stderr/cwd/env (Deps), exactly what
 * bin/stage-publish.js runs minus process startup. Spawning three processes per case would take minutes.
 */
export async function runInProcess(args: string[], opts: RunOptions): Promise<CliResult & { ms: number }> {
  const started = Date.now()
  const out: Buffer[] = []
  const err: Buffer[] = []
  const sink = (chunks: Buffer[]) =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
        cb()
      },
    })
  const deps = { cwd: opts.cwd, env: opts.env, stdout: sink(out), stderr: sink(err), now: () => new Date(), newId: randomUUID }
  let code: number
  try {
    code = await main(['node', 'stage-publish', ...args], () => deps)
  } catch (e) {
    // main() turns every error into an exit code; an escape is a bug worth seeing in the output.
    err.push(Buffer.from(`main() threw: ${(e as Error)?.stack ?? String(e)}`))
    code = 99
  }
  const stdout = Buffer.concat(out).toString('utf8')
  const stderr = Buffer.concat(err).toString('utf8')
  return { code, stdout, stderr, all: `${stdout}\n${stderr}`, ms: Date.now() - started }
}

/** The real binary, killed after `deadlineMs` (for attacks that would block or never end). */
export function runSpawned(args: string[], opts: RunOptions & { deadlineMs?: number }): Promise<CliResult & { ms: number; killed: boolean }> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    let killed = false
    const kill = () => {
      if (child.exitCode === null) {
        killed = true
        child.kill('SIGKILL')
      }
    }
    child.stdout.on('data', (c: Buffer) => {
      // Output that never ends (a /dev/zero tarball printed back) is itself a failure: keep the first 4 MB.
      outBytes += c.length
      if (outBytes < 4 << 20) out.push(c)
      else kill()
    })
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(kill, opts.deadlineMs ?? 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      resolve({ code: code ?? 137, stdout, stderr, all: `${stdout}\n${stderr}`, ms: Date.now() - started, killed })
    })
  })
}

/**
 * Every error code the output reports: `{error:{code}}` (a --json failure), `reviewError.code` (view shows
 * the record and why it could not be reviewed), `failed[].error.code` (a batch summary), and `error CODE:`
 * lines on stderr (human output).
 */
export function reportedCodes(r: CliResult): string[] {
  const codes = new Set<string>()
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object') return
    if (Array.isArray(v)) {
      v.forEach(visit)
      return
    }
    const o = v as Record<string, unknown>
    for (const key of ['error', 'reviewError']) {
      const e = o[key] as { code?: unknown } | undefined
      if (e && typeof e === 'object' && typeof e.code === 'string') codes.add(e.code)
    }
    if (Array.isArray(o.failed)) o.failed.forEach(visit)
    if (Array.isArray(o.members)) o.members.forEach(visit)
  }
  try {
    visit(JSON.parse(r.stdout))
  } catch {
    // Not JSON (human output): the lines below say it.
  }
  // Human output: `error CODE: summary` (a code quoted in a hint or a review does not count).
  for (const m of r.stderr.matchAll(/(?:^|\n)\S*\s*error\S*\s+(E[A-Z0-9]{3,}):/g)) codes.add(m[1] as string)
  return [...codes]
}

// ---------------------------------------------------------------- the registry

/** Which of `names` the registry has any version of (one packument read each, in parallel). */
export async function publishedAmong(registry: TestRegistry, names: Iterable<string>): Promise<string[]> {
  const found: string[] = []
  await Promise.all(
    [...new Set(names)].map(async (name) => {
      // A name npm cannot even parse (../x, spaces, control characters) can never be published, and asking
      // Verdaccio about ..%2Fx leaves the request hanging: only names npm accepts are asked about.
      if (!validateName(name).validForOldPackages) return
      const url = new URL(name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name), registry.url).href
      let res: Response
      try {
        res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(15_000) })
      } catch (err) {
        throw new Error(`could not ask ${url} whether ${JSON.stringify(name)} is published: ${(err as Error).message}`)
      }
      if (res.status === 404) return
      const doc = (await res.json().catch(() => ({}))) as { versions?: Record<string, unknown> }
      if (res.ok && doc.versions && Object.keys(doc.versions).length > 0) found.push(name)
    }),
  )
  return found.sort()
}

/**
 * One-time passwords for many approvals: each comes from a real 2FA user whose token is in its own .npmrc.
 * Recovery codes count as codes (Verdaccio takes them as npm-otp) and, unlike TOTP codes, they can be used
 * in any order, so parallel approvals never trip the replay check or the lockout.
 */
export interface Credential {
  otp: string
  npmrc: string
}

export function credentialPool(registry: TestRegistry, dir: string): { next(): Promise<Credential> } {
  let queue: Credential[] = []
  let n = 0
  let filling: Promise<void> | undefined
  const fill = async () => {
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(dir, `approver-${n++}`), registry.url)
    queue.push(...user.recoveryCodes.map((otp) => ({ otp, npmrc })))
  }
  return {
    async next() {
      while (queue.length === 0) {
        filling ??= fill().finally(() => {
          filling = undefined
        })
        await filling
      }
      const [first, ...rest] = queue
      queue = rest
      return first as Credential
    },
  }
}

/** Runs `fn` over `items`, at most `width` at a time, keeping the order of the results. */
export async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T, i)
    }),
  )
  return results
}
