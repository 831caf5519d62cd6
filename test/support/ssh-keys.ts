/**
 * Real SSH keys for approval tests: a fresh ed25519 key per signer (no passphrase) made by ssh-keygen,
 * and allowed_signers files naming them, as git's SSH signing set-up does.
 */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestSigner {
  principal: string
  /** The private key file (its .pub beside it). */
  key: string
  /** `ssh-ed25519 AAAA...` */
  publicKey: string
}

function sshKeygen(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ssh-keygen', args, { timeout: 20_000 }, (err) => (err ? reject(new Error(`ssh-keygen ${args.join(" ")}: ${err.message}`)) : resolve()))
  })
}

/** A new folder for keys (mode 0700, as ssh-keygen wants for private keys). */
export const keyDir = (): Promise<string> => fs.mkdtemp(path.join(os.tmpdir(), 'sp-keys-'))

export async function makeSigner(dir: string, principal: string): Promise<TestSigner> {
  const key = path.join(dir, principal.replace(/[^a-z0-9]/gi, '_'))
  await sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', principal, '-f', key])
  const publicKey = (await fs.readFile(`${key}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ')
  return { principal, key, publicKey }
}

/** An allowed_signers line; `options` such as namespaces="stage-publish-approval@v1". */
export const signerLine = (s: TestSigner, options?: string): string => `${s.principal}${options ? ` ${options}` : ''} ${s.publicKey}`

export async function writeAllowedSigners(file: string, signers: TestSigner[], options?: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, `${signers.map((s) => signerLine(s, options)).join('\n')}\n`)
  return file
}
