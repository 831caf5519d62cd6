/** How long a staged release waits before it expires: durations such as 30d, 12h, 90m, 2w. Pure. */
import { StagePublishError } from '../errors.js'

export const DEFAULT_EXPIRY = '30d'

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }

/** Parses durations such as `30d`, `12h`, `90m`, `2w`, `45s`. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(String(text))
  const value = m ? Number(m[1]) * (UNITS[(m[2] as string).toLowerCase()] as number) : NaN
  if (!m || !(value > 0) || value > 366 * 86400e3) {
    throw new StagePublishError('EUSAGE', `"${text}" is not a duration`, {
      hint: 'Use a number and a unit, between 1s and 366d: 30d, 12h, 90m, 2w.',
      exitCode: 2,
    })
  }
  return value
}

export const expiryFrom = (createdAt: Date, duration: string): Date => new Date(createdAt.getTime() + parseDuration(duration))
