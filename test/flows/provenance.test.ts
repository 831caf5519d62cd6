/**
 * Provenance through one approval, in-process (memory backend, fake registry): what `Ready.provenance`
 * carries (the interface the final hop uses), what libnpmpublish is handed (`provenanceFile`, the exact
 * staged bytes, verified offline), and the check afterwards that the registry shows it. The fake
 * registry records provenance (dist.attestations) only when a test says the registry does (`records`).
 */
import { readFileSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { prepareApproval, publishApproved, type Ready } from '../../src/flows/approve-one.js'
import type { PublishFn } from '../../src/npm/publish.js'
import { readTarball, sha512Integrity, summarize } from '../../src/npm/tarball.js'
import { harness, rejection, type Harness } from '../support/flow-harness.js'
import { pendingRecord } from '../support/record-factory.mjs'
import { ROOT } from '../support/cli.js'

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'provenance')
const TARBALL = readFileSync(path.join(FIXTURES, 'npmcli-libnpmpublish-test-1.0.0.tgz'))
const BUNDLE = readFileSync(path.join(FIXTURES, 'valid-bundle-relocated.json'))
const CODE = '123456'

let h: Harness
afterEach(async () => {
  await h?.close()
})

/** Stages the fixture tarball with `bundle`, as `stage-publish <tgz> --provenance-file` does. */
async function stageWithBundle(bundle: Buffer | null = BUNDLE, named: Buffer | null = bundle) {
  const facts = summarize(TARBALL, await readTarball(TARBALL))
  const record = pendingRecord(TARBALL, {
    packageName: '@npmcli/libnpmpublish-test',
    version: '1.0.0',
    registry: h.registry.url,
    unpackedSize: facts.unpackedSize,
    fileCount: facts.entryCount,
    files: facts.files,
    createdAt: h.clock.now().toISOString(),
    ...(named && { provenance: { integrity: sha512Integrity(named), size: named.length } }),
  })
  const res = await h.backend.createRelease(record, TARBALL, undefined, bundle ?? undefined)
  if (!res.created) throw new Error('not staged')
  return { record, etag: res.etag }
}

async function ready(current: { record: Parameters<typeof prepareApproval>[0]['record']; etag: string }): Promise<Ready> {
  const prepared = await prepareApproval(current, h.ctx)
  if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
  return prepared.ready
}

/** The fake registry's publish, recording what provenance file libnpmpublish was given; `records`: the registry keeps it as dist.attestations. */
function publishSeeing(records: boolean): { sent: Array<Buffer | null>; fn: PublishFn } {
  const sent: Array<Buffer | null> = []
  const fn: PublishFn = async (manifest, tarball, opts) => {
    const file = typeof opts.provenanceFile === 'string' ? opts.provenanceFile : null
    sent.push(file ? await fs.readFile(file) : null)
    const kept = file && records ? { ...manifest, dist: { attestations: { url: 'https://registry.example/-/npm/v1/attestations/x', provenance: { predicateType: 'https://slsa.dev/provenance/v0.2' } } } } : manifest
    return h.registry.publishFn(kept, tarball, opts)
  }
  return { sent, fn }
}

describe('Ready.provenance (what the final hop sends)', () => {
  it('carries the exact staged bundle and what it proves, once it verified for the verified bytes', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const r = await ready(await stageWithBundle())
    expect(r.provenance).not.toBeNull()
    expect(Buffer.compare(r.provenance?.bundle ?? Buffer.alloc(0), BUNDLE)).toBe(0)
    expect(r.provenance?.facts).toMatchObject({ commit: '1cf17804c7625c5c78ec9696f9fef7ecc44e0c58', signer: { identity: 'brian@dehamer.com' } })
    expect(r.provenanceShown).toEqual({ facts: r.provenance?.facts })
  })

  it('is null when nothing was staged with the release', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const r = await ready(await stageWithBundle(null))
    expect(r.provenance).toBeNull()
    expect(r.provenanceShown).toBeUndefined()
  })

  it('does not read a stored bundle over the size limit: PROVENANCE_UNVERIFIED', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const current = await stageWithBundle()
    h.backend.raw.provenance.set(current.record.id, Buffer.alloc(1024 * 1024 + 1, 0x20))
    h.ctx.gate = { policy: {}, allow: ['PROVENANCE_UNVERIFIED'] }
    const r = await ready(current)
    expect(r.provenance).toBeNull()
    expect(r.review.findings.find((f) => f.code === 'PROVENANCE_UNVERIFIED')?.args).toEqual({ reason: expect.stringMatching(/^the stored bundle cannot be read \(The provenance bundle of .* is 1 MiB/) as unknown })
  })

  it('ignores a bundle its record does not name (added after staging): never read, shown or published', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const current = await stageWithBundle(null)
    h.backend.raw.provenance.set(current.record.id, BUNDLE)
    let reads = 0
    const getProvenance = h.backend.getProvenance.bind(h.backend)
    h.backend.getProvenance = (id) => (reads++, getProvenance(id))
    const r = await ready(current)
    expect(r.provenance).toBeNull()
    expect(reads).toBe(0)
  })

  it('is null, and the review refuses, when the stored bundle is not the one the record names', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const current = await stageWithBundle(BUNDLE)
    h.backend.raw.provenance.set(current.record.id, Buffer.from(`${BUNDLE.toString('utf8')} `))
    expect((await rejection(ready(current))).code).toBe('EPOLICY')
    h.ctx.gate = { policy: {}, allow: ['PROVENANCE_UNVERIFIED'] }
    const r = await ready(current)
    expect(r.provenance).toBeNull()
    expect(r.review.findings.find((f) => f.code === 'PROVENANCE_UNVERIFIED')?.args).toEqual({ reason: 'the stored bundle is not the one staged: its sha512 differs from the one in the record' })
  })
})

describe('publishing with the bundle', () => {
  it('hands libnpmpublish the staged bundle as provenanceFile and reports that the registry holds it', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const seen = publishSeeing(true)
    h.ctx.deps.publishFn = seen.fn
    const r = await ready(await stageWithBundle())
    const finished = await publishApproved(r, { code: CODE, accepted: false }, h.ctx)
    expect(seen.sent).toHaveLength(1)
    expect(Buffer.compare(seen.sent[0] ?? Buffer.alloc(0), BUNDLE)).toBe(0)
    expect(finished.how.provenance).toBe('recorded')
    expect(h.stderr()).not.toContain('does not show its provenance')
  })

  it('says so when the registry accepted the publish but shows no dist.attestations', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const seen = publishSeeing(false)
    h.ctx.deps.publishFn = seen.fn
    const finished = await publishApproved(await ready(await stageWithBundle()), { code: CODE, accepted: false }, h.ctx)
    expect(finished.how.provenance).toBe('not-shown')
    expect(h.stderr()).toContain('@npmcli/libnpmpublish-test@1.0.0 is published, but')
    expect(h.stderr()).toContain('does not show its provenance (the version has no dist.attestations)')
  })

  it('attaches nothing without a staged bundle, whatever the approver\'s npm configuration says', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const seen = publishSeeing(true)
    h.ctx.deps.publishFn = seen.fn
    h.ctx.conf.flat.provenance = true
    h.ctx.conf.flat.provenanceFile = path.join(FIXTURES, 'valid-bundle-relocated.json')
    const finished = await publishApproved(await ready(await stageWithBundle(null)), { code: CODE, accepted: false }, h.ctx)
    expect(seen.sent).toEqual([null])
    expect(finished.how.provenance).toBeUndefined()
  })
})
