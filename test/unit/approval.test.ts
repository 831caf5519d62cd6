/**
 * The pure parts of M-of-N approvals (src/core/approval-*.ts): the envelope and statement read
 * strictly, DSSE's PAE, the package URL as npm-package-arg makes it, the SSH signature's own account
 * of its key and namespace, allowed_signers for choosing a principal, the policy, and the count.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { makeEnvelope, pae, readEnvelope, PAYLOAD_TYPE, APPROVAL_LIMITS } from '../../src/core/approval-envelope.js'
import { buildStatement, canonicalJson, namesRelease, purlOf, readStatement, reviewDigest, sha512Hex, statementBytes, type ApprovalPredicate } from '../../src/core/approval-statement.js'
import { fingerprintOf, readSshSignature } from '../../src/core/approval-sshsig.js'
import { parseAllowedSigners, principalFor, publicKeyFingerprint } from '../../src/core/approval-signers.js'
import { parseApprovalPolicy } from '../../src/core/approval-policy.js'
import { tallyApprovals, type CheckedApproval } from '../../src/core/approval-count.js'
import { checkRecord } from '../../src/core/record-schema.js'
import { sampleRecord } from '../support/records.js'

const require = createRequire(import.meta.url)
const npa = require('npm-package-arg') as { toPurl(spec: string): string }

const KEYID = `SHA256:${'A'.repeat(43)}`
const SHA = 'ab'.repeat(64)
const predicate = (over: Partial<ApprovalPredicate> = {}): ApprovalPredicate => ({
  signer: { principal: 'alice@example.com', keyFingerprint: KEYID },
  release: { id: '3f2a9c1e-0000-4000-8000-000000000001' },
  registry: 'https://registry.npmjs.org/',
  tag: 'latest',
  approvedAt: '2026-12-02T12:00:00.000Z',
  review: { sha512: SHA, sha256: 'cd'.repeat(32) },
  policy: { required: 2, counted: 0 },
  ...over,
})

describe('the statement', () => {
  it('names the release as npm-package-arg toPurl does, scoped or not', () => {
    for (const [name, version] of [['lib', '1.0.0'], ['@scope/lib', '2.0.0-rc.1+build.5']] as const) {
      expect(purlOf(name, version)).toBe(npa.toPurl(`${name}@${version}`))
    }
  })

  it('reads back what it builds, and binds name, version and sha512', () => {
    const subject = { name: '@scope/lib', version: '1.0.0', sha512: SHA }
    const built = buildStatement(subject, predicate())
    const read = readStatement(statementBytes(built))
    expect(read).toEqual({ ok: true, statement: built })
    if (!read.ok) return
    expect(namesRelease(read.statement, subject)).toBe(true)
    expect(namesRelease(read.statement, { ...subject, version: '1.0.1' })).toBe(false)
    expect(namesRelease(read.statement, { ...subject, name: '@scope/lib2' })).toBe(false)
    expect(namesRelease(read.statement, { ...subject, sha512: 'cd'.repeat(64) })).toBe(false)
  })

  it('refuses what is not exactly one statement of ours', () => {
    const good = buildStatement({ name: 'lib', version: '1.0.0', sha512: SHA }, predicate())
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, _type: 'https://in-toto.io/Statement/v0.1' }, /_type/],
      [{ ...good, predicateType: 'https://slsa.dev/provenance/v1' }, /predicateType/],
      [{ ...good, subject: [good.subject[0], good.subject[0]] }, /exactly one/],
      [{ ...good, subject: [{ name: 'pkg:npm/lib@1.0.0', digest: { sha256: SHA.slice(0, 64) } }] }, /sha512/],
      [{ ...good, predicate: predicate({ signer: { principal: '*@example.com', keyFingerprint: KEYID } }) }, /pattern/],
      [{ ...good, predicate: predicate({ signer: { principal: 'alice\u001b[2J', keyFingerprint: KEYID } }) }, /control/],
      [{ ...good, predicate: predicate({ policy: { required: -1, counted: 0 } }) }, /required/],
    ]
    for (const [value, why] of cases) {
      const read = readStatement(Buffer.from(JSON.stringify(value)))
      expect(read.ok).toBe(false)
      if (!read.ok) expect(read.why).toMatch(why)
    }
    expect(readStatement(Buffer.from([0xff, 0xfe]))).toMatchObject({ ok: false, why: 'it is not UTF-8 JSON' })
  })

  it('digests the review canonically: key order does not matter, content does', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}')
    expect(reviewDigest({ a: 1, b: 2 })).toEqual(reviewDigest({ b: 2, a: 1 }))
    expect(reviewDigest({ a: 1 }).sha512).not.toBe(reviewDigest({ a: 2 }).sha512)
  })

  it('reads npm integrity as hex, and nothing else', () => {
    const digest = Buffer.alloc(64, 7)
    expect(sha512Hex(`sha512-${digest.toString('base64')}`)).toBe(digest.toString('hex'))
    expect(sha512Hex('sha1-abc')).toBeUndefined()
    expect(sha512Hex(undefined)).toBeUndefined()
  })
})

describe('the envelope', () => {
  const armored = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n'

  it('PAE is DSSE v1: lengths in bytes', () => {
    expect(pae('t', Buffer.from('héllo')).toString('utf8')).toBe('DSSEv1 1 t 6 héllo')
  })

  it('reads a well-formed envelope into a new object with only the known fields', () => {
    const env = makeEnvelope(Buffer.from('{}'), KEYID, armored)
    expect(readEnvelope({ ...env, extra: 'x', signatures: [{ ...env.signatures[0], extra: 1 }] })).toEqual({ ok: true, envelope: env })
  })

  it('refuses each way an envelope can be wrong, naming the field', () => {
    const env = makeEnvelope(Buffer.from('{}'), KEYID, armored)
    const cases: Array<[unknown, string]> = [
      [null, ''],
      [{ ...env, payloadType: 'text/plain' }, 'payloadType'],
      [{ ...env, payload: 'not base64!' }, 'payload'],
      [{ ...env, payload: 'A'.repeat(APPROVAL_LIMITS.payloadChars + 4) }, 'payload'],
      [{ ...env, signatures: [] }, 'signatures'],
      [{ ...env, signatures: [env.signatures[0], env.signatures[0]] }, 'signatures'],
      [{ ...env, signatures: [{ ...env.signatures[0], keyid: 'SHA256:short' }] }, 'signatures[0].keyid'],
      [{ ...env, signatures: [{ ...env.signatures[0], sig: 12 }] }, 'signatures[0].sig'],
    ]
    for (const [value, field] of cases) expect(readEnvelope(value)).toMatchObject({ ok: false, field })
  })

  it('the record schema reads approvals strictly and bounds their number', () => {
    const env = makeEnvelope(Buffer.from('{}'), KEYID, armored)
    expect(checkRecord({ ...sampleRecord(), approvals: [env] }, { store: true })).toMatchObject({ ok: true, record: { approvals: [env] } })
    expect(checkRecord({ ...sampleRecord(), approvals: [{ ...env, payloadType: 'x' }] }, { store: true })).toMatchObject({ ok: false, field: 'approvals[0].payloadType' })
    expect(checkRecord({ ...sampleRecord(), approvals: Array.from({ length: APPROVAL_LIMITS.perRecord + 1 }, () => env) }, { store: true })).toMatchObject({ ok: false, field: 'approvals' })
    expect(PAYLOAD_TYPE).toBe('application/vnd.in-toto+json')
  })
})

describe('SSH signatures and allowed_signers', () => {
  // A real ssh-keygen -Y sign output (namespace stage-publish-approval@v1) and its key.
  const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgkV0Oz6lwhaJLJQEjDKJAypEtTGThi/0uNOmY1upZQ'
  const sig = [
    '-----BEGIN SSH SIGNATURE-----',
    'U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg6CRXQ7PqXCFokslASMMokDKkS1',
    'MZOGL/S406ZjW6llAAAAAZc3RhZ2UtcHVibGlzaC1hcHByb3ZhbEB2MQAAAAAAAAAGc2hh',
    'NTEyAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEB52vaFbbi3i9G2iKplr6I5SpHQ1J3TXRnMXQ',
    'jpsmkj3GgvmsFeFh1+s6clcXmTX2sJ0UIhygcz9DHfFKKXougM',
    '-----END SSH SIGNATURE-----',
  ].join('\n')

  it('a signature names its key (as ssh-keygen prints the fingerprint) and namespace', () => {
    expect(readSshSignature(sig)).toEqual({ fingerprint: 'SHA256:dtUA5Uq2zQk54YnehLiUT5f9qfMqKj2iw/Nhdrmru54', namespace: 'stage-publish-approval@v1', keyType: 'ssh-ed25519' })
    expect(publicKeyFingerprint(pub)).toBe('SHA256:dtUA5Uq2zQk54YnehLiUT5f9qfMqKj2iw/Nhdrmru54')
  })

  it('anything else is not a signature', () => {
    expect(readSshSignature('hello')).toBeUndefined()
    expect(readSshSignature(sig.replace('U1NIU0lH', 'U1NIU0lI'))).toBeUndefined()
    expect(readSshSignature(['-----BEGIN SSH SIGNATURE-----', 'U1NIU0lHAAAAAQAAAP8=', '-----END SSH SIGNATURE-----'].join('\n'))).toBeUndefined()
    expect(fingerprintOf(Buffer.alloc(0))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
  })

  it('finds the principal for a key, skipping patterns, certificate authorities and other namespaces', () => {
    const fp = publicKeyFingerprint(pub) as string
    const entries = parseAllowedSigners(
      [
        '# team',
        `*@corp ${pub}`,
        `ca@example.com cert-authority ${pub}`,
        `git@example.com namespaces="git" ${pub}`,
        `"alice@example.com,*@example.org" namespaces="stage-publish-*,file" ${pub} alice's laptop`,
        'broken line',
      ].join('\n'),
    )
    expect(entries.map((e) => e.principals)).toEqual([['git@example.com'], ['alice@example.com']])
    expect(principalFor(entries, fp, 'stage-publish-approval@v1')).toBe('alice@example.com')
    expect(principalFor(entries, fp, 'git')).toBe('git@example.com')
    expect(principalFor(entries, 'SHA256:other', 'stage-publish-approval@v1')).toBeUndefined()
  })

  it('a key pasted under another type is not that key', () => {
    expect(publicKeyFingerprint(pub.replace('ssh-ed25519', 'ssh-rsa'))).toBeUndefined()
  })
})

describe('the policy', () => {
  it('reads stagePublish.approvals, and refuses typos rather than ignoring them', () => {
    expect(parseApprovalPolicy(undefined)).toBeNull()
    expect(parseApprovalPolicy({ required: 2, allowedSigners: '.github/allowed_signers' })).toEqual({ required: 2, allowedSigners: '.github/allowed_signers', allowSelfApproval: false })
    for (const bad of [{ required: 0, allowedSigners: 'f' }, { required: 2 }, { required: 2, allowedSigners: 'f', allowSelfApprovals: true }, { required: '2', allowedSigners: 'f' }, []]) {
      expect(() => parseApprovalPolicy(bad)).toThrow(expect.objectContaining({ code: 'ECONFIG' }))
    }
  })
})

describe('the count', () => {
  const ok = (index: number, principal: string, fingerprint = `SHA256:${principal}`): CheckedApproval => ({ index, ok: true, principal, fingerprint, at: '2026-12-02T12:00:00.000Z' })

  it('counts distinct principals and distinct keys once each', () => {
    const t = tallyApprovals([ok(0, 'alice'), ok(1, 'alice'), ok(2, 'bob', 'SHA256:alice'), ok(3, 'carol')], { required: 3, allowSelfApproval: false })
    expect(t.counted.map((c) => c.principal)).toEqual(['alice', 'carol'])
    expect(t.refused.map((r) => [r.index, r.code])).toEqual([[1, 'duplicate'], [2, 'duplicate']])
    expect(t).toMatchObject({ met: false, needed: 1 })
  })

  it('the stager does not count unless allowed; refused ones keep their reason', () => {
    const checked: CheckedApproval[] = [ok(0, 'alice'), { index: 1, ok: false, code: 'signature', why: 'bad', principal: 'bob' }, ok(2, 'carol')]
    expect(tallyApprovals(checked, { required: 2, allowSelfApproval: false }, 'alice')).toMatchObject({ met: false, counted: [{ principal: 'carol' }], refused: [{ code: 'self', principal: 'alice' }, { code: 'signature', why: 'bad' }] })
    expect(tallyApprovals(checked, { required: 2, allowSelfApproval: true }, 'alice')).toMatchObject({ met: true, needed: 0 })
  })
})
