/**
 * The one place that runs ssh-keygen: signing an approval with the approver's SSH key (`-Y sign`, a
 * key file, or a key held by ssh-agent as git allows) and verifying a stored one against an
 * allowed_signers file (`-Y verify`, which applies the file's options such as namespaces=). SSH
 * signatures are ssh-keygen's; nothing here implements them. No key material, passphrase or data is
 * ever put in a message: what ssh-keygen says on stderr is cut to its last meaningful line and made safe.
 * node:child_process rather than execa: execa is not a dependency, and these are short calls.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StagePublishError, redact } from '../errors.js'
import { toSafeText } from '../core/text.js'
import { publicKeyFingerprint } from '../core/approval-signers.js'

type Env = NodeJS.ProcessEnv

/** A hardware key waits for a touch: signing may take a while. Verifying never does. */
const SIGN_TIMEOUT_MS = 120_000
const VERIFY_TIMEOUT_MS = 15_000

interface Ran {
  code: number | null
  stdout: string
  stderr: string
  missing: boolean
}

async function sshKeygen(args: string[], input: Buffer, env: Env, timeoutMs: number): Promise<Ran> {
  const { spawn } = await import('node:child_process')
  return new Promise((resolve) => {
    // stdin carries the data; a passphrase or a touch prompt goes to the terminal (/dev/tty), as with git.
    const child = spawn('ssh-keygen', args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 64 * 1024) stdout += d.toString('utf8')
    })
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 16 * 1024) stderr += d.toString('utf8')
    })
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, missing: err.code === 'ENOENT' }))
    child.on('close', (code) => resolve({ code, stdout, stderr, missing: false }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** ssh-keygen's complaint, safe to show: its last line that is not progress, without control characters. */
export function sshMessage(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^Signing (data|file)/.test(l) && !/^Write signature/.test(l))
  return toSafeText(redact(lines.slice(-1)[0] ?? 'no reason given'), 200)
}

const missingTool = () =>
  new StagePublishError('ESIGNKEY', 'ssh-keygen is not installed (or not on PATH): approvals are signed and checked with it', {
    hint: 'Install OpenSSH 8.2 or newer (it has ssh-keygen -Y), then run the command again. Nothing was changed.',
  })

async function withTemp<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-ssh-'))
  try {
    return await work(dir)
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

/** The key that signs: a private key file, or a public key whose private half is in ssh-agent. */
export interface SigningKey {
  /** For people: the path, or `an ssh-agent key`. Never the key itself. */
  label: string
  /** `<type> <base64>` of the public key. */
  publicKey: string
  fingerprint: string
  /** A private key file, or a public key for ssh-agent (`-U`). */
  source: { kind: 'file'; path: string } | { kind: 'agent'; publicKey: string }
}

const expandHome = (p: string, env: Env): string => (p.startsWith('~/') ? path.join(env.HOME ?? os.homedir(), p.slice(2)) : p)

function keyError(summary: string, hint: string): StagePublishError {
  return new StagePublishError('ESIGNKEY', summary, { hint })
}

async function readPublicKeyFile(file: string): Promise<string | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined)
  const line = text?.split(/\r?\n/).find((l) => l.trim() && !l.startsWith('#'))?.trim()
  if (!line || !publicKeyFingerprint(line)) return undefined
  return line.split(/\s+/).slice(0, 2).join(' ')
}

function fromPublicKey(publicKey: string, label: string): SigningKey {
  const fingerprint = publicKeyFingerprint(publicKey)
  if (!fingerprint) throw keyError(`${label} is not an SSH public key`, 'Give a private key file, a .pub file of a key in ssh-agent, or key::<public key>.')
  return { label, publicKey, fingerprint, source: { kind: 'agent', publicKey } }
}

/**
 * The approver's signing key: --signing-key, else git's `user.signingKey` when `gpg.format` is `ssh`
 * (a path, a `.pub` of a key in ssh-agent, or a `key::<public key>` literal, as git takes it).
 */
export async function resolveSigningKey(flag: string | undefined, cwd: string, env: Env): Promise<SigningKey> {
  let spec = flag
  let from = '--signing-key'
  if (spec === undefined) {
    const format = await gitConfig(['gpg.format'], cwd, env)
    const configured = await gitConfig(['user.signingkey'], cwd, env)
    if (format !== 'ssh' || !configured) {
      throw keyError('No SSH key to sign the approval with', 'Pass --signing-key <path> (a private key, or the .pub of a key in ssh-agent), or set git up for SSH signing: git config gpg.format ssh; git config user.signingKey <path>.')
    }
    spec = configured
    from = "git's user.signingKey"
  }
  if (spec.startsWith('key::')) return fromPublicKey(spec.slice(5).trim(), `the key:: literal of ${from}`)
  if (/^(ssh-|ecdsa-|sk-)/.test(spec)) return fromPublicKey(spec.trim(), `the public key literal of ${from}`)
  const file = path.resolve(cwd, expandHome(spec, env))
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat?.isFile()) throw keyError(`The signing key ${file} (from ${from}) does not exist`, 'Check the path, or pass --signing-key <path>.')
  // A .pub names a key whose private half is in ssh-agent (ssh-keygen -U), as git does.
  const asPublic = await readPublicKeyFile(file)
  if (asPublic) return { ...fromPublicKey(asPublic, file), label: file }
  const publicKey = (await readPublicKeyFile(`${file}.pub`)) ?? (await derivePublicKey(file, env))
  const fingerprint = publicKeyFingerprint(publicKey) as string
  return { label: file, publicKey, fingerprint, source: { kind: 'file', path: file } }
}

/** `ssh-keygen -y`: the public half of a private key without a .pub beside it (asks for its passphrase if it has one). */
async function derivePublicKey(file: string, env: Env): Promise<string> {
  const ran = await sshKeygen(['-y', '-f', file], Buffer.alloc(0), env, SIGN_TIMEOUT_MS)
  if (ran.missing) throw missingTool()
  const line = ran.stdout.trim().split(/\s+/).slice(0, 2).join(' ')
  if (ran.code !== 0 || !publicKeyFingerprint(line)) throw keyError(`The signing key ${file} could not be read: ${sshMessage(ran.stderr)}`, 'Give an OpenSSH private key (or its .pub with the key in ssh-agent).')
  return line
}

async function gitConfig(args: string[], cwd: string, env: Env): Promise<string | undefined> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve) => {
    execFile('git', ['config', '--get', ...args], { cwd, env: { ...env, GIT_TERMINAL_PROMPT: '0' }, timeout: 5000 }, (err, stdout) => resolve(err ? undefined : String(stdout).trim() || undefined))
  })
}

/** Signs `data` with the key under `namespace`; returns the armored signature. */
export async function sshSign(key: SigningKey, data: Buffer, namespace: string, env: Env): Promise<string> {
  return withTemp(async (dir) => {
    let args: string[]
    if (key.source.kind === 'agent') {
      const pub = path.join(dir, 'key.pub')
      await fs.writeFile(pub, `${key.source.publicKey}\n`, { mode: 0o600 })
      args = ['-Y', 'sign', '-n', namespace, '-U', '-f', pub]
    } else {
      args = ['-Y', 'sign', '-n', namespace, '-f', key.source.path]
    }
    const ran = await sshKeygen(args, data, env, SIGN_TIMEOUT_MS)
    if (ran.missing) throw missingTool()
    const armored = ran.stdout.trim()
    if (ran.code !== 0 || !armored.startsWith('-----BEGIN SSH SIGNATURE-----')) {
      throw keyError(`ssh-keygen could not sign with ${key.label}: ${sshMessage(ran.stderr)}`, key.source.kind === 'agent' ? 'Check that the key is loaded in ssh-agent (ssh-add -l) and SSH_AUTH_SOCK is set.' : 'Check the key file and its passphrase.')
    }
    return `${armored}\n`
  })
}

/**
 * `ssh-keygen -Y verify`: whether `signature` over `data` is by a key allowed_signers lists for
 * `principal`, for `namespace` (its namespaces= and validity options applied). Expected outcomes are values.
 */
export async function sshVerify(input: { data: Buffer; signature: string; principal: string; allowedSigners: string; namespace: string }, env: Env): Promise<{ ok: true } | { ok: false; why: string }> {
  return withTemp(async (dir) => {
    const sig = path.join(dir, 'approval.sig')
    await fs.writeFile(sig, input.signature, { mode: 0o600 })
    const ran = await sshKeygen(['-Y', 'verify', '-f', input.allowedSigners, '-I', input.principal, '-n', input.namespace, '-s', sig], input.data, env, VERIFY_TIMEOUT_MS)
    if (ran.missing) throw missingTool()
    return ran.code === 0 ? { ok: true } : { ok: false, why: sshMessage(ran.stderr) }
  })
}
