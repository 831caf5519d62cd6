/**
 * How much of a tarball stage-publish is willing to read. Every tarball comes from someone who may
 * be hostile (CI, a backend, a registry), and reading one holds all its files in memory, so each
 * read stops at these limits with ETOOLARGE before it costs more. The defaults fit real npm
 * packages with a wide margin (the largest common ones have tens of thousands of files and a few
 * hundred MB unpacked); the environment can raise or lower them.
 */
import { StagePublishError } from '../errors.js'

export interface TarballLimits {
  /** Entries in the archive (files and folder entries). */
  maxFiles: number
  /** Sum of the sizes of every entry, as the tar headers declare them (npm's "unpacked size"). */
  maxUnpackedSize: number
  /** The .tgz itself. */
  maxPackedSize: number
}

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

export const DEFAULT_TARBALL_LIMITS: Readonly<TarballLimits> = Object.freeze({
  maxFiles: 100_000,
  maxUnpackedSize: 512 * MiB,
  maxPackedSize: 256 * MiB,
})

/** A staged record is a few kilobytes, plus about 80 bytes a file: 16 MiB holds the schema's 100,000 files. */
export const MAX_RECORD_SIZE = 16 * MiB

export const LIMIT_ENV = {
  maxFiles: 'STAGE_PUBLISH_MAX_FILES',
  maxUnpackedSize: 'STAGE_PUBLISH_MAX_UNPACKED_SIZE',
  maxPackedSize: 'STAGE_PUBLISH_MAX_PACKED_SIZE',
} as const satisfies Record<keyof TarballLimits, string>

/** The limits, with any set in the environment: a whole number, sizes optionally with a k, m or g suffix (binary). */
export function tarballLimits(env: Readonly<Record<string, string | undefined>>): TarballLimits {
  const limits = { ...DEFAULT_TARBALL_LIMITS }
  for (const key of Object.keys(LIMIT_ENV) as Array<keyof TarballLimits>) {
    const raw = env[LIMIT_ENV[key]]
    if (raw === undefined || raw.trim() === '') continue
    limits[key] = parseLimit(LIMIT_ENV[key], raw, key !== 'maxFiles')
  }
  return limits
}

function parseLimit(name: string, raw: string, isSize: boolean): number {
  const m = (isSize ? /^\s*(\d{1,15})\s*([kmg]?)i?b?\s*$/i : /^\s*(\d{1,15})\s*$/).exec(raw)
  const value = m ? Number(m[1]) * (({ '': 1, k: KiB, m: MiB, g: GiB } as Record<string, number>)[(m[2] ?? '').toLowerCase()] ?? NaN) : NaN
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new StagePublishError('ECONFIG', `${name} must be a positive whole number${isSize ? ' of bytes, optionally with a k, m or g suffix' : ''}, not "${raw.slice(0, 40)}"`, {
      hint: `For example ${name}=${isSize ? '512m' : '100000'}, or unset it for the default.`,
    })
  }
  return value
}

/**
 * A byte count compared with a limit: 512 MiB, 1.5 GiB, 300 bytes. Limits are set in binary units
 * (`512m` is 512 MiB), so the sizes measured against them print in those units too; sizes shown
 * as facts about a package use npm's decimal units (formatBytes in src/ui/format.ts).
 */
export function formatBinaryBytes(n: number): string {
  if (n >= GiB) return `${+(n / GiB).toFixed(1)} GiB`
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`
  if (n >= KiB) return `${+(n / KiB).toFixed(1)} KiB`
  return `${n} bytes`
}
