import { describe, expect, it } from 'vitest'
import { backendArg, followUp, nameBackend, shellQuote } from '../../src/flows/follow-up.js'
import type { StagingBackend } from '../../src/backends/types.js'

describe('follow-up commands', () => {
  it('name the backend given by the flag, else by STAGE_PUBLISH_BACKEND, else none', () => {
    expect(backendArg('file:/a', { STAGE_PUBLISH_BACKEND: 'file:/b' })).toBe(' --backend file:/a')
    expect(backendArg(undefined, { STAGE_PUBLISH_BACKEND: 'file:/b' })).toBe(' --backend file:/b')
    expect(backendArg(undefined, {})).toBe('')
  })

  it('quote what a shell would split or expand', () => {
    expect(shellQuote('s3://bucket/prefix')).toBe('s3://bucket/prefix')
    expect(shellQuote('s3://b/p?region=eu&endpoint=http://x:1&forcePathStyle=true')).toBe("'s3://b/p?region=eu&endpoint=http://x:1&forcePathStyle=true'")
    expect(shellQuote("file:/it's here")).toBe(`'file:/it'\\''s here'`)
  })

  it('remember per backend how it was named', () => {
    const named = nameBackend({ location: 'a' } as unknown as StagingBackend, ' --backend registry')
    const other = { location: 'b' } as unknown as StagingBackend
    expect(followUp(named, 'approve 1234')).toBe('stage-publish approve 1234 --backend registry')
    expect(followUp(other, 'approve 1234')).toBe('stage-publish approve 1234')
  })
})
