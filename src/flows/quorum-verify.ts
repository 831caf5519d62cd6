/**
 * `stage-publish verify-approvals <name@version>`: what a downstream auditor or a CI gate runs. Fetches
 * the integrity the registry serves now for that version, then checks that at least `required` distinct
 * signers listed in the given allowed_signers signed statements for exactly those bytes. The statements
 * come from the backend's records of that version, or from a file of exported attestations (--bundle,
 * JSON lines as `attestations` prints them). The self-approval rule is the approve step's: an exported
 * statement does not say who staged the release.
 */
import { createRequire } from 'node:module'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { tallyApprovals } from '../core/approval-count.js'
import type { VerifiedApprovalsView } from '../ui/render-approvals.js'
import { sha512Hex } from '../core/approval-statement.js'
import { lookupPublished } from '../npm/publish.js'
import { loadNpmConfig, registryFor } from '../npm/config.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { checkApprovals, requireQuorumBackend } from './quorum.js'
import { quorumFor } from './quorum-list.js'

const require = createRequire(import.meta.url)

/** An exported bundle larger than this is not a list of approvals. */
const MAX_BUNDLE = 4 * 1024 * 1024

export interface VerifyApprovalsRequest extends BackendRequest {
  allowedSigners?: string
  required?: number
  /** A file of attestations (JSON lines) instead of the backend. */
  bundle?: string
}

export type VerifyApprovalsResult = VerifiedApprovalsView

function parseSpec(spec: string): { name: string; version: string } {
  const npa = require('npm-package-arg') as (spec: string) => { type: string; name: string | null; fetchSpec: string | null }
  try {
    const parsed = npa(spec)
    if (parsed.type === 'version' && parsed.name && parsed.fetchSpec) return { name: parsed.name, version: parsed.fetchSpec }
  } catch {
    // Worded below.
  }
  throw new StagePublishError('EUSAGE', `${spec.slice(0, 300)} is not <name>@<exact version>`, { hint: 'For example: stage-publish verify-approvals my-lib@1.2.3 --allowed-signers .github/allowed_signers', exitCode: 2 })
}

async function readBundle(file: string): Promise<unknown[]> {
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat?.isFile()) throw new StagePublishError('ENOTFOUND', `The bundle ${file} does not exist`, { hint: 'Give the file `stage-publish attestations <id>` wrote.' })
  if (stat.size > MAX_BUNDLE) throw new StagePublishError('ETOOLARGE', `The bundle ${file} is larger than ${MAX_BUNDLE / 1024 / 1024} MiB`, { hint: 'It should hold one JSON line per approval.' })
  return (await fs.readFile(file, 'utf8'))
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((line) => {
      try {
        return JSON.parse(line) as unknown
      } catch {
        // Counted as a malformed approval, and said so.
        return null
      }
    })
}

export async function verifyApprovals(spec: string, opts: VerifyApprovalsRequest, deps: Deps): Promise<VerifyApprovalsResult> {
  const { name, version } = parseSpec(spec)
  const quorum = await quorumFor(opts, deps)
  const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: { ...(opts.userconfig && { userconfig: opts.userconfig }) } })
  const registry = normaliseRegistryUrl(opts.registry ?? registryFor(name, conf.flat))
  const published = await lookupPublished({ name, version, registry }, conf.flat)
  if (!published.exists) {
    throw new StagePublishError('EAPPROVALS', `${name}@${version} is not published on ${registry}`, { hint: 'verify-approvals checks what the registry serves: check the name, version and --registry.' })
  }
  const sha512 = sha512Hex(published.integrity)
  if (!sha512 || !published.integrity) {
    throw new StagePublishError('EAPPROVALS', `${registry} serves no sha512 integrity for ${name}@${version}`, { hint: 'Approvals bind the tarball\'s sha512; without one the bytes cannot be matched.' })
  }
  let envelopes: unknown[]
  let source: string
  if (opts.bundle !== undefined) {
    const file = path.resolve(deps.cwd, opts.bundle)
    envelopes = await readBundle(file)
    source = file
  } else {
    const backend = await backendFor(opts, deps)
    requireQuorumBackend(backend)
    const records = await backend.listRecords({ packageName: name, onCorrupt: () => undefined })
    envelopes = records.filter((v) => v.record.version === version).flatMap((v) => v.record.approvals ?? [])
    source = backend.location
  }
  const checked = await checkApprovals(envelopes, { name, version, sha512 }, quorum.signers, deps.env)
  const tally = tallyApprovals(checked, { required: quorum.policy.required, allowSelfApproval: true })
  return { name, version, registry, integrity: published.integrity, source, tally }
}
