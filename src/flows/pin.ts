/**
 * Digest pinning at approval, checked right after the staged bytes are verified and before any
 * prompt: `--expect <integrity|shasum>` and `--verify-local [<dir>]`. A mismatch is EEXPECT and
 * nothing is published; the release stays pending.
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import type { StagedRecord } from '../core/record.js'
import { compareContents, digestsMatch, parseExpectedDigests, type ExpectedDigest } from '../core/pin.js'
import { loadNpmConfig } from '../npm/config.js'
import { packLikePublish, readManifest, resolveSource } from '../npm/pack.js'
import type { TarballContents } from '../npm/tarball.js'
import { describeDifferences } from '../ui/render.js'
import type { Output } from '../ui/output.js'
import type { Deps } from './context.js'
import { scriptBanner } from './script-banner.js'
import { backendArg } from './follow-up.js'

export interface PinOptions {
  /** The integrity (sha512-...) or shasum the staged bytes must have. */
  expect?: string
  /** Pack this folder (true: the current one) and compare it file by file with the staged tarball. */
  verifyLocal?: string | boolean
  /** With verifyLocal: pack without running prepublishOnly, prepack, prepare or postpack. */
  ignoreScripts?: boolean
  userconfig?: string
  /** Named again in the follow-up commands of hints. */
  backend?: string
}

export interface Pins {
  expected?: { digests: ExpectedDigest[]; raw: string }
  /** The folder to pack, '' for the current one. */
  local?: string
}

/** Reads the pins from the flags; a malformed digest is a usage error before anything is fetched. */
export function parsePins(opts: PinOptions): Pins {
  return {
    ...(opts.expect !== undefined && { expected: { digests: parseExpectedDigests(opts.expect), raw: opts.expect } }),
    ...(opts.verifyLocal && { local: opts.verifyLocal === true ? '' : opts.verifyLocal }),
  }
}

/** Checks every pin against the verified staged bytes; what was verified, for approve --json. */
export async function checkPins(
  pins: Pins,
  record: StagedRecord,
  staged: { bytes: Buffer; contents: TarballContents },
  opts: PinOptions,
  deps: Deps,
  out: Output,
): Promise<{ expect: boolean; local?: string } | undefined> {
  if (pins.expected) checkExpected(pins.expected.digests, pins.expected.raw, staged.bytes, record, `stage-publish reject ${record.id}${backendArg(opts.backend, deps.env)}`)
  const local = pins.local === undefined ? undefined : await verifyLocal(pins.local || undefined, record, staged.contents, opts, deps, out)
  if (!pins.expected && !local) return undefined
  return { expect: Boolean(pins.expected), ...(local && { local: local.dir }) }
}

/** Refuses unless the verified staged bytes have the digest(s) the approver expects. */
export function checkExpected(expected: ExpectedDigest[], raw: string, bytes: Buffer, record: StagedRecord, rejectCommand: string): void {
  const actual = { sha512: createHash('sha512').update(bytes).digest(), sha1: createHash('sha1').update(bytes).digest() }
  if (digestsMatch(expected, actual)) return
  throw new StagePublishError('EEXPECT', `The staged tarball of ${record.packageName}@${record.version} is not the one you expect: --expect ${raw.trim()} does not match`, {
    hint: `Its integrity is ${record.integrity} (shasum ${record.shasum}). Nothing was published; the release is still pending. If you did not stage these bytes, reject it (${rejectCommand}).`,
  })
}

/**
 * Packs the local checkout exactly as staging does (npm's configuration, prepublishOnly, prepack,
 * prepare, postpack unless scripts are ignored) and compares it with the staged tarball file by file.
 */
export async function verifyLocal(
  dirArg: string | undefined,
  record: StagedRecord,
  staged: TarballContents,
  opts: PinOptions,
  deps: Deps,
  out: Output,
): Promise<{ dir: string; files: number }> {
  const source = await resolveSource(dirArg, deps.cwd)
  const pkgDir = source.type === 'directory' ? source.path : deps.cwd
  const conf = await loadNpmConfig({
    cwd: pkgDir,
    env: deps.env,
    flags: { ...(opts.ignoreScripts && { ignoreScripts: true }), ...(opts.userconfig && { userconfig: opts.userconfig }) },
  })
  const manifest = await readManifest(source, conf.flat)
  const where = path.relative(deps.cwd, source.path) || 'the current folder'
  if (manifest.name !== record.packageName || manifest.version !== record.version) {
    throw new StagePublishError('EEXPECT', `The package in ${where} is ${String(manifest.name)}@${String(manifest.version)}, but the staged release is ${record.packageName}@${record.version}`, {
      hint: `Check out the commit it was staged from${record.git?.commit ? ` (${record.git.commit})` : ''} and run approve again. Nothing was published.`,
    })
  }
  conf.applyPublishConfig(manifest.publishConfig)
  const ignoreScripts = Boolean(opts.ignoreScripts || conf.get('ignore-scripts'))
  out.notice(`Packing ${where} to compare with the staged tarball${ignoreScripts ? ' (without running scripts)' : ''}...`)
  const packed = await packLikePublish(source, manifest, { flat: conf.flat, localPrefix: conf.localPrefix, ignoreScripts, foregroundScripts: !out.json, banner: scriptBanner(out) })
  const differences = compareContents(staged.files, packed.contents.files)
  if (differences.length) {
    throw new StagePublishError(
      'EEXPECT',
      `The staged tarball of ${record.packageName}@${record.version} is not what ${where} packs to: ${differences.length} ${differences.length === 1 ? 'file differs' : 'files differ'}\n${describeDifferences(differences)}`,
      {
        hint: `Nothing was published; the release is still pending. Check that ${where} is at the commit it was staged from${record.git?.commit ? ` (${record.git.commit})` : ''}, built the same way${ignoreScripts ? '' : ' (or try --ignore-scripts if it was staged with it)'}; if the difference is not yours, reject it (stage-publish reject ${record.id}${backendArg(opts.backend, deps.env)}).`,
      },
    )
  }
  out.notice(`Verified: the staged tarball is, file for file, what ${where} packs to (${staged.files.length} files).`)
  return { dir: source.path, files: staged.files.length }
}
