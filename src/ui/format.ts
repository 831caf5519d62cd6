/** Small pure formatters shared by the renderers. */
/** Sizes as npm prints them (decimal kB and MB); negative sizes keep their sign. */
export function formatBytes(n: number): string {
  const abs = Math.abs(n)
  if (abs < 1000) return `${n} B`
  if (abs < 1000 ** 2) return `${(n / 1000).toFixed(1)} kB`
  return `${(n / 1000 ** 2).toFixed(1)} MB`
}

/** `2026-11-26 14:05 UTC (3h ago)` */
export function formatTime(iso: string | undefined, now: Date): string {
  if (!iso) return '-'
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return iso
  const stamp = `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return `${stamp} (${relative(t.getTime() - now.getTime())})`
}

function relative(ms: number): string {
  const past = ms < 0
  const s = Math.abs(ms) / 1000
  const text =
    s < 60 ? `${Math.round(s)}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`
  return past ? `${text} ago` : `in ${text}`
}

export const shortIntegrity = (integrity: string): string =>
  integrity.length > 40 ? `${integrity.slice(0, 20)}[...]${integrity.slice(-12)}` : integrity
