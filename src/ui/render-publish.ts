/** Words for staging (`publish`, src/flows/stage.ts and stage-set.ts): what was staged and how to approve it. Pure: returns text and --json data. */
import type { StagedRecord } from '../core/record.js'
import { inline } from './sanitize.js'

/** One staged release (src/flows/stage.ts `Staged`; defined here because ui does not import flows). */
export interface StagedView {
  record: StagedRecord
  dryRun: boolean
  /** ` --backend <url>` when the approver must name the backend, else ''. */
  backendHint: string
  /** `file`, `s3` or `registry`. */
  backendKind: string
}

/** A staged release set (src/flows/stage-set.ts `StagedSet`). */
export interface StagedSetView {
  setId: string | null
  records: StagedRecord[]
  skipped: Array<{ name: string; reason: 'private' }>
  dryRun: boolean
  backendHint: string
}

/** npm publish --json's shape for one package, plus what staging adds. */
export function packJson(record: StagedRecord, dryRun: boolean): Record<string, unknown> {
  return {
    id: dryRun ? null : record.id,
    name: record.packageName,
    version: record.version,
    size: record.size,
    unpackedSize: record.unpackedSize,
    shasum: record.shasum,
    integrity: record.integrity,
    filename: `${record.packageName.replace(/^@/, '').replace('/', '-')}-${record.version}.tgz`,
    files: record.files,
    entryCount: record.fileCount,
    bundled: record.bundled,
    tag: record.tag,
    access: record.access,
    registry: record.registry,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt ?? null,
    ...(record.setId && { setId: record.setId }),
    // The provenance bundle staged with it: its sha512 and size.
    ...(record.provenance && { provenance: record.provenance }),
    state: dryRun ? 'dry-run' : record.state,
    dryRun,
  }
}

export const stagedSetJson = (set: StagedSetView): unknown => ({ setId: set.setId, releases: set.records.map((r) => packJson(r, set.dryRun)), skipped: set.skipped, dryRun: set.dryRun })

/** The notice when `npm publish --otp` habits meet staging (shown after a real staging, not a dry run). */
export const OTP_IGNORED = 'note: --otp is ignored when staging; the one-time password is asked for at approval.'

const plus = (r: StagedRecord, dryRun: boolean): string =>
  `+ ${inline(r.packageName)}@${inline(r.version)} (${dryRun ? 'dry-run: nothing was staged' : `staged with id ${inline(r.id)}`})`

/** The human result of staging one release. */
export function renderStaged(staged: StagedView): string {
  const { record, dryRun } = staged
  if (dryRun) return plus(record, true)
  return [
    plus(record, false),
    'Nothing is public yet. To publish it, a maintainer runs:',
    `  npx stage-publish approve ${inline(record.id)}${inline(staged.backendHint)}`,
    // It is the registry's own staged item: npm's own command approves it too.
    ...(staged.backendKind === 'registry' ? [`  (or: npm stage approve ${inline(record.id)} --registry ${inline(record.registry)})`] : []),
  ].join('\n')
}

/** The human result of staging workspaces (a release set, or on a registry each package alone). Empty when nothing was staged or listed. */
export function renderStagedSet(set: StagedSetView): string {
  const lines = set.records.map((r) => plus(r, set.dryRun))
  if (!set.dryRun) {
    const hint = inline(set.backendHint)
    if (set.setId) {
      lines.push(`Release set ${inline(set.setId)}: ${set.records.length} packages. Nothing is public yet. To publish them all, a maintainer runs:`, `  npx stage-publish approve ${inline(set.setId)}${hint}`)
    } else {
      lines.push(
        `Nothing is public yet. To publish ${set.records.length === 1 ? 'it' : 'them, dependencies first'}, a maintainer runs:`,
        `  npx stage-publish approve ${set.records.map((r) => inline(r.id)).join(' ')}${hint}`,
      )
    }
  }
  return lines.join('\n')
}
