import { describe, expect, it } from 'vitest'
import { formatBinaryBytes } from '../../src/core/limits.js'
import { formatBytes } from '../../src/ui/format.js'

describe('byte formatting', () => {
  it('formatBytes prints sizes as npm does (decimal units), keeping the sign of a difference', () => {
    expect([0, 999, 1000, 148, 2048, 1_500_000].map(formatBytes)).toEqual(['0 B', '999 B', '1.0 kB', '148 B', '2.0 kB', '1.5 MB'])
    expect([-148, -2048, -1_500_000].map(formatBytes)).toEqual(['-148 B', '-2.0 kB', '-1.5 MB'])
  })

  it('formatBinaryBytes prints sizes against limits in the binary units limits are set in', () => {
    expect([300, 1024, 512 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBinaryBytes)).toEqual(['300 bytes', '1 KiB', '512 MiB', '1.5 GiB'])
  })
})
