/**
 * `stage-publish --workspaces` / `-w <name>`: every public workspace package (or the named ones) as
 * one release set. Each package goes through exactly the single-package staging (./stage.ts); all
 * are packed and checked before the first is stored. Then the set object (core/release-set.ts) is
 * written once, create-if-absent, listing every member's record id, name, version and integrity;
 * only after it the member records, each carrying the set id: a visible member always has its set,
 * and nothing written later can join it. (Records no longer carry `setMembers`: the set object is
 * the one list, and a list on a record is only the claim of whoever wrote that record.)
 * If storing a member fails, the members already stored are withdrawn (rejected, bytes deleted):
 * a set is staged whole or not at all. The set object stays (CI may not delete); it lists records
 * that are rejected or missing, so it can never be approved.
 * A registry's staging API cannot hold a set id: there each package is staged on its own, and
 * `approve <id> <id>...` publishes them in dependency order all the same.
 */
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { rejectedRecord, type DetailedRecord, type StagedRecord } from '../core/record.js'
import { newSetObject } from '../core/release-set.js'
import { isNative } from '../backends/types.js'
import { loadNpmConfig } from '../npm/config.js'
import { readManifest } from '../npm/pack.js'
import { readWorkspaces } from '../npm/workspaces.js'
import { localActor } from '../origin/origin.js'
import type { Output } from '../ui/output.js'
import { readProjectStageConfig, type Deps } from './context.js'
import type { StageRequest } from './stage-request.js'
import { chooseDestination } from './destination.js'
import { createStaged, npmFlags, preparePackage, type PreparedRelease } from './stage.js'
import { followUp } from './follow-up.js'
import { announceStaged } from './notify.js'

export interface StagedSet {
  /** null on a registry backend (it cannot record sets) and for a dry run. */
  setId: string | null
  records: StagedRecord[]
  skipped: Array<{ name: string; reason: 'private' }>
  dryRun: boolean
  backendHint: string
  backendKind: string
}

export async function stageWorkspaces(filters: string[], opts: StageRequest, deps: Deps, out: Output): Promise<StagedSet> {
  const rootConf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: npmFlags(opts) })
  const root = rootConf.localPrefix
  const workspaces = await readWorkspaces(root, filters, deps.cwd)
  const { config } = await readProjectStageConfig(root)
  const destination = await chooseDestination(config ?? {}, root, opts, deps)

  const prepared: PreparedRelease[] = []
  const skipped: StagedSet['skipped'] = []
  for (const ws of workspaces) {
    const conf = await loadNpmConfig({ cwd: ws.path, env: deps.env, flags: npmFlags(opts) })
    const source = { type: 'directory' as const, path: ws.path, raw: ws.path }
    const manifest = await readManifest(source, conf.flat)
    if (manifest.private) {
      skipped.push({ name: ws.name, reason: 'private' })
      out.warn(`Skipping workspace ${ws.name} (${path.relative(deps.cwd, ws.path) || '.'}): it is marked private`)
      continue
    }
    prepared.push(await preparePackage({ source, conf, manifest }, destination, opts, deps, out))
  }
  if (!prepared.length) {
    throw new StagePublishError('EPRIVATE', `Every workspace ${filters.length ? 'named ' : ''}is private: there is nothing to stage`, {
      hint: 'Remove "private": true from the packages to publish, or name public workspaces with -w.',
    })
  }

  const native = prepared.some((p) => isNative(p.backend))
  const setId = native || prepared.length < 2 ? null : deps.newId()
  if (setId) for (const p of prepared) p.record.setId = setId
  const base = { skipped, backendHint: destination.hint, backendKind: (prepared[0] as PreparedRelease).backend.kind }
  if (opts.dryRun) return { setId: null, records: prepared.map((p) => p.record), dryRun: true, ...base }
  if (native) out.warn('a registry\'s staging API cannot record a release set: the packages are staged one by one; approve them together (stage-publish approve <id> <id>...${destination.hint}) to publish them in dependency order')

  if (setId) await createSetObject(setId, prepared, destination.createdAt)
  const records: StagedRecord[] = []
  for (const p of prepared) {
    try {
      records.push({ ...p.record, id: await createStaged(p) })
    } catch (err) {
      throw await withdraw(records, prepared, p.record, err, native, deps)
    }
  }
  // CI reports and the `staged` webhook: best effort, once the whole set is stored (./notify.ts).
  await announceStaged(prepared.map((p, i) => ({ ...p, record: records[i] as StagedRecord })), setId, destination.hint, deps, out)
  return { setId, records, dryRun: false, ...base }
}

/** The set object, before any member record: it fixes which records are the set. */
async function createSetObject(setId: string, prepared: PreparedRelease[], createdAt: Date): Promise<void> {
  const backend = (prepared[0] as PreparedRelease).backend
  if (isNative(backend)) return
  const created = await backend.createSet(newSetObject(setId, createdAt, prepared.map((p) => p.record)))
  if (!created.created) {
    throw new StagePublishError('EBACKEND', `A release set with id ${setId} already exists in ${backend.location}`, { hint: 'Nothing was staged. Run the command again.' })
  }
}

/** Storing one member failed: take back the ones stored before it, so no half set waits for approval. */
async function withdraw(stored: StagedRecord[], prepared: PreparedRelease[], failed: DetailedRecord, err: unknown, native: boolean, deps: Deps): Promise<unknown> {
  if (!stored.length) return err
  const what = `${failed.packageName}@${failed.version}`
  const reason = err instanceof Error ? err.message : String(err)
  if (native) {
    // Deleting a registry's staged item needs a one-time password: say what is staged instead.
    return new StagePublishError('EBACKEND', `Staging ${what} failed (${reason}); ${stored.map((r) => `${r.packageName}@${r.version} (${r.id})`).join(', ')} ${stored.length === 1 ? 'is' : 'are'} staged already`, {
      hint: `Fix the cause and approve them all together, or reject the ones already staged (${followUp((prepared[0] as PreparedRelease).backend, 'reject <id> --yes --otp <code>')}).`,
      cause: err,
    })
  }
  const now = deps.now().toISOString()
  for (const r of stored) {
    const backend = prepared.find((p) => p.record.packageName === r.packageName)?.backend
    if (!backend || isNative(backend)) continue
    const current = await backend.getRecord(r.id).catch(() => null)
    if (!current) continue
    const rejected = rejectedRecord(current.record, { by: localActor(), at: now, reason: `staging the rest of release set ${r.setId ?? ''} failed at ${what}` })
    await backend.updateRecord(rejected, current.etag).catch(() => undefined)
    await backend.deleteTarball(r.id).catch(() => undefined)
  }
  return new StagePublishError(err instanceof StagePublishError ? err.code : 'EBACKEND', `Staging the release set failed at ${what}: ${reason}`, {
    hint: `Nothing of the set waits for approval: the ${stored.length} already stored ${stored.length === 1 ? 'was' : 'were'} withdrawn (rejected). Fix the cause and stage the workspace again.`,
    cause: err,
  })
}
