/**
 * The record schema against hostile records: anyone with the CI credential can write any record,
 * so every field is attacked. A record that breaks a rule is ECORRUPT, names the field, and never
 * echoes the bad value.
 */
import { describe, expect, it } from 'vitest'
import { sampleRecord } from '../support/records.js'
import { parseRecord, serializeRecord, type StagedRecord } from '../../src/core/record.js'
import { checkRecord, RECORD_LIMITS } from '../../src/core/record-schema.js'
import { StagePublishError } from '../../src/errors.js'

const ID = '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'
const SET = '11111111-2222-4333-8444-555555555555'

/** A record with every optional field filled in, as a record store holds it after a claim. */
const full = (): StagedRecord =>
  sampleRecord({
    setId: SET,
    setMembers: [{ name: 'pkg', version: '1.0.0' }, { name: '@acme/other', version: '2.0.0-rc.1' }],
    access: 'public',
    bundled: ['dep', '@acme/dep'],
    git: { commit: 'a'.repeat(40), branch: 'main', remote: 'https://github.com/o/r.git', dirty: false },
    ci: { provider: 'github-actions', runUrl: 'https://github.com/o/r/actions/runs/1', workflow: 'o/r/.github/workflows/release.yml@refs/heads/main', ref: 'refs/heads/main' },
    actorType: 'ci',
    state: 'approving',
    claim: { by: 'alice@laptop', at: '2026-11-02T00:00:00.000Z', host: 'laptop', pid: 4242 },
    approvedAt: '2026-11-02T00:01:00.000Z',
    approvedBy: 'alice',
    rejectedAt: '2026-11-02T00:02:00.000Z',
    rejectedBy: 'bob@desk',
    rejectReason: 'not this one',
    expiryNotifiedAt: '2026-12-01T00:00:01.000Z',
    provenance: { integrity: `sha512-${'A'.repeat(86)}==`, size: 8306 },
  })

/** The record's JSON with one field (a dotted path, array indexes as numbers) set to `value`. */
function withField(path: string, value: unknown, base: StagedRecord = full()): string {
  const data = JSON.parse(JSON.stringify(base)) as Record<string, unknown>
  const keys = path.split('.')
  let at: Record<string, unknown> = data
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>
  const last = keys[keys.length - 1] as string
  // The path names the field under test: deleting it is the point.
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
  if (value === undefined) delete at[last]
  else at[last] = value
  return JSON.stringify(data)
}

function corruptError(text: string): StagePublishError {
  try {
    parseRecord(text, ID)
  } catch (err) {
    if (err instanceof StagePublishError) return err
    throw err
  }
  throw new Error('the record was accepted')
}

const get = (path: string): string => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], full()) as string

const STRING_FIELDS = [
  'id', 'packageName', 'version', 'tag', 'registry', 'integrity', 'shasum', 'createdAt', 'expiresAt', 'actor',
  'git.commit', 'git.branch', 'git.remote', 'ci.provider', 'ci.runUrl', 'ci.workflow', 'ci.ref',
  'claim.by', 'claim.at', 'claim.host', 'approvedAt', 'approvedBy', 'rejectedAt', 'rejectedBy', 'rejectReason',
  'setId', 'files.0.path', 'bundled.0', 'setMembers.0.name', 'setMembers.0.version', 'expiryNotifiedAt', 'provenance.integrity',
]

/** What a hostile stager appends to a field: terminal escapes, line tricks, invisible and reordering characters. */
const HOSTILE: Array<[string, string]> = [
  ['ESC[2J (clear screen)', '\u001b[2J'],
  ['an OSC 8 hyperlink', '\u001b]8;;https://evil.example/\u0007'],
  ['a carriage return', '\rapproved'],
  ['a newline', '\nstate: approved'],
  ['NUL', '\u0000'],
  ['DEL', '\u007f'],
  ['a C1 CSI', '\u009b2J'],
  ['the bidi override U+202E', '\u202eevil'],
  ['a bidi isolate U+2066', '\u2066x'],
  ['a zero-width space', '\u200b'],
  ['a zero-width joiner', '\u200d'],
  ['a byte-order mark', '\ufeff'],
  ['a line separator', '\u2028'],
  ['an invisible tag character', '\u{E0041}'],
]

describe('parseRecord: no control, bidi or zero-width character in any string', () => {
  const cases = STRING_FIELDS.flatMap((field) => HOSTILE.map(([what, chars]) => [field, what, chars] as const))
  it.each(cases)('refuses %s with %s', (field, _what, chars) => {
    const err = corruptError(withField(field, `${get(field)}${chars}`))
    expect(err.code).toBe('ECORRUPT')
    const name = field.replace(/\.(\d+)/g, '[$1]')
    expect(err.message).toContain(name)
    // The message names the field; it never carries the bad characters to a terminal.
    expect(err.message).not.toContain(chars)
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/)
  })
  it('refuses a lone surrogate', () => {
    expect(corruptError(withField('actor', 'me\ud800')).message).toMatch(/actor contains/)
  })
})

describe('parseRecord: hostile records are ECORRUPT, naming the field', () => {
  const bigFiles = Array.from({ length: RECORD_LIMITS.files + 1 }, (_, i) => ({ path: `f${i}`, size: 1, mode: 0o644 }))
  const cases: Array<[string, string, RegExp]> = [
    // the record itself
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /record is not a JSON object/],
    ['null', 'null', /record is not a JSON object/],
    ['a string', '"record"', /record is not a JSON object/],
    ['a number', '1', /record is not a JSON object/],
    ['huge text', ' '.repeat(RECORD_LIMITS.recordChars + 1), /larger than/],
    ['schema 2', withField('schema', 2), /schema is not 1/],
    ['schema "1"', withField('schema', '1'), /schema is not 1/],
    ['no schema', withField('schema', undefined), /schema is not 1/],
    // ids
    ['another id', withField('id', '00000000-0000-4000-8000-000000000000'), /id is not the id that was asked for/],
    ['an id that is a path', withField('id', '../../etc/passwd'), /id is not a UUID/],
    ['an upper-case id', withField('id', ID.toUpperCase()), /id is not a UUID/],
    ['a setId that is a path', withField('setId', '../x'), /setId is not a UUID/],
    // names, versions, tags
    ['a package name that is a path', withField('packageName', '../../etc'), /packageName is not a valid npm package name/],
    ['a scope that is a path', withField('packageName', '@../x'), /packageName has a part/],
    ['a package name with a space', withField('packageName', 'a b'), /packageName contains whitespace/],
    ['an excluded package name', withField('packageName', 'node_modules'), /packageName is not a valid/],
    ['a huge package name', withField('packageName', 'a'.repeat(300)), /packageName is longer than/],
    ['a version with a v', withField('version', 'v1.0.0'), /version is not a semver version/],
    ['a version with a space', withField('version', '1.0.0 '), /version is not a semver version/],
    ['a version that is a range', withField('version', '^1.0.0'), /version is not a semver version/],
    ['a version that is a number', withField('version', 1), /version is not a string/],
    ['a tag that is a semver range', withField('tag', '1.x'), /tag is a semver range/],
    ['a tag with a slash', withField('tag', 'a/b'), /tag is not URL-safe/],
    ['an empty tag', withField('tag', ''), /tag is empty/],
    ['a huge tag', withField('tag', 'x'.repeat(200)), /tag is longer than/],
    ['an unknown access', withField('access', 'private'), /access is not one of/],
    ['no access', withField('access', undefined), /access is missing/],
    // registry
    ['a registry with user:pass@', withField('registry', 'http://user:SECRET@127.0.0.1:4873/'), /registry carries credentials/],
    ['a registry with a token as user', withField('registry', 'https://SECRET@registry.example/'), /registry carries credentials/],
    ['a registry with ?token=', withField('registry', 'https://registry.example/?token=SECRET'), /registry carries credentials/],
    ['a registry that is not http', withField('registry', 'ftp://registry.example/'), /registry is not an http\(s\) URL/],
    ['a javascript: registry', withField('registry', 'javascript:alert(1)//'), /registry is not an http\(s\) URL/],
    ['a registry without a trailing slash', withField('registry', 'https://registry.example'), /registry does not end with/],
    ['a registry that is not a URL', withField('registry', 'registry'), /registry is not a URL/],
    // digests
    ['an integrity that is not sha512', withField('integrity', `sha256-${Buffer.alloc(32).toString('base64')}`), /integrity is not a sha512/],
    ['a short sha512 integrity', withField('integrity', 'sha512-abc'), /integrity is not a sha512/],
    ['a non-canonical sha512 integrity', withField('integrity', `sha512-${'A'.repeat(85)}B==`), /integrity is not a sha512/],
    ['no integrity', withField('integrity', undefined), /integrity is missing/],
    ['a non-hex shasum', withField('shasum', 'g'.repeat(40)), /shasum is not 40/],
    ['an upper-case shasum', withField('shasum', 'A'.repeat(40)), /shasum is not 40/],
    ['a short shasum', withField('shasum', 'a'.repeat(39)), /shasum is not 40/],
    // numbers
    ['a negative size', withField('size', -1), /size is not between/],
    ['a fractional size', withField('size', 1.5), /size is not an integer/],
    ['a huge size', withField('size', 2 ** 53), /size is not an integer/],
    ['an infinite unpackedSize', withField('unpackedSize', 0).replace('"unpackedSize":0', '"unpackedSize":1e400'), /unpackedSize is not an integer/],
    ['a fileCount that is a string', withField('fileCount', '1'), /fileCount is not an integer/],
    // files
    ['files that are not an array', withField('files', {}), /files is not an array/],
    ['no files', withField('files', undefined), /files is missing/],
    ['too many files', withField('files', bigFiles), /files has more than/],
    ['a file outside the package', withField('files.0.path', '../x'), /files\[0\]\.path has an empty or \.\. segment/],
    ['a file path climbing out in the middle', withField('files.0.path', 'a/../../x'), /files\[0\]\.path has an empty or \.\. segment/],
    ['an absolute file path', withField('files.0.path', '/etc/passwd'), /files\[0\]\.path is absolute/],
    ['a drive-letter file path', withField('files.0.path', 'C:/x'), /files\[0\]\.path is absolute/],
    ['a backslash file path', withField('files.0.path', 'a\\..\\x'), /files\[0\]\.path contains a backslash/],
    ['an empty file path', withField('files.0.path', ''), /files\[0\]\.path is empty/],
    ['a negative file size', withField('files.0.size', -5), /files\[0\]\.size is not between/],
    ['a file mode over 0o7777', withField('files.0.mode', 0o10000), /files\[0\]\.mode is not between/],
    ['a fractional file mode', withField('files.0.mode', 420.5), /files\[0\]\.mode is not an integer/],
    ['a file that is not an object', withField('files.0', 'package.json'), /files\[0\] is not an object/],
    ['a bundled name that is a path', withField('bundled.0', '../../x'), /bundled\[0\] is not a valid/],
    ['setMembers with a bad version', withField('setMembers.1.version', 'latest'), /setMembers\[1\]\.version is not a semver/],
    ['setMembers that are not an array', withField('setMembers', 'a,b'), /setMembers is not an array/],
    // times
    ...(['createdAt', 'expiresAt', 'approvedAt', 'rejectedAt', 'claim.at', 'expiryNotifiedAt'] as const).flatMap((field): Array<[string, string, RegExp]> => [
      [`${field} that is a word`, withField(field, 'never'), new RegExp(`${field} is not an ISO date`)],
      [`${field} with month 13`, withField(field, '2026-13-01T00:00:00Z'), new RegExp(`${field} is not an ISO date`)],
      [`${field} without a time`, withField(field, '2026-11-01'), new RegExp(`${field} is not an ISO date`)],
      [`${field} without a zone`, withField(field, '2026-11-01T00:00:00'), new RegExp(`${field} is not an ISO date`)],
      [`${field} that is a number`, withField(field, 1790000000000), new RegExp(`${field} is not a string`)],
      [`${field} that is null`, withField(field, null), new RegExp(`${field} is not a string`)],
    ]),
    ['no expiresAt (it would never expire)', withField('expiresAt', undefined), /expiresAt is missing/],
    // who and state
    ['an unknown state', withField('state', 'published'), /state is not one of pending, approving, approved, rejected/],
    ['an unknown actorType', withField('actorType', 'bot'), /actorType is not one of/],
    ['an empty actor', withField('actor', ''), /actor is empty/],
    ['a huge actor', withField('actor', 'x'.repeat(10_000)), /actor is longer than/],
    ['a huge reject reason', withField('rejectReason', 'x'.repeat(RECORD_LIMITS.reason + 1)), /rejectReason is longer than/],
    ['a claim without by', withField('claim.by', undefined), /claim\.by is missing/],
    ['a claim with pid 0', withField('claim.pid', 0), /claim\.pid is not between/],
    ['a claim with a fractional pid', withField('claim.pid', 1.5), /claim\.pid is not an integer/],
    ['a claim that is a string', withField('claim', 'alice'), /claim is not an object/],
    // origin
    ['a git remote with a token', withField('git.remote', 'https://x-access-token:SECRET@github.com/o/r.git'), /git\.remote carries credentials/],
    ['a git remote with ?access_token=', withField('git.remote', 'https://github.com/o/r.git?access_token=SECRET'), /git\.remote carries credentials/],
    ['a scp-like remote with a password', withField('git.remote', 'user:SECRET@github.com:o/r.git'), /git\.remote carries credentials/],
    ['a javascript: git remote', withField('git.remote', 'javascript://%0aalert(1)'), /git\.remote is not a git URL/],
    ['a git remote that is no URL', withField('git.remote', 'https://[bad'), /git\.remote is not a URL/],
    ['a short commit', withField('git.commit', 'abc123'), /git\.commit is not a hex commit id/],
    ['a dirty flag that is a string', withField('git.dirty', 'yes'), /git\.dirty is not true or false/],
    ['git that is an array', withField('git', []), /git is not an object/],
    ['a CI provider with spaces', withField('ci.provider', 'GitHub Actions'), /ci\.provider is not lower-case/],
    ['a CI run URL with a token', withField('ci.runUrl', 'https://ci.example/run/1?token=SECRET'), /ci\.runUrl carries credentials/],
    ['a CI run URL with basic auth', withField('ci.runUrl', 'https://u:SECRET@ci.example/run/1'), /ci\.runUrl carries credentials/],
    ['a CI run URL that is javascript:', withField('ci.runUrl', 'javascript:alert(1)'), /ci\.runUrl is not an http\(s\) URL/],
    ['ci without a provider', withField('ci.provider', undefined), /ci\.provider is missing/],
    // the provenance bundle's digest
    ['a provenance integrity that is sha1', withField('provenance.integrity', 'sha1-abc='), /provenance\.integrity/],
    ['a provenance without integrity', withField('provenance.integrity', undefined), /provenance\.integrity is missing/],
    ['an empty provenance bundle', withField('provenance.size', 0), /provenance\.size is not between 1 and/],
    ['a provenance bundle over the limit', withField('provenance.size', 1024 * 1024 + 1), /provenance\.size is not between 1 and/],
    ['provenance that is a string', withField('provenance', 'yes'), /provenance is not an object/],
  ]
  it.each(cases)('refuses %s', (_what, text, reason) => {
    const err = corruptError(text)
    expect(err.code).toBe('ECORRUPT')
    expect(err.message).toMatch(reason)
    expect(err.message).not.toContain('SECRET')
    expect(err.message.length).toBeLessThan(300)
  })
  it('counts more than 40 hostile records', () => {
    expect(cases.length).toBeGreaterThan(40)
  })
})

describe('parseRecord: valid records', () => {
  it('round-trips a minimal and a full record through serializeRecord', () => {
    for (const r of [sampleRecord(), full()]) {
      const parsed = parseRecord(serializeRecord(r), ID)
      expect(parsed).toEqual(r)
      expect(parseRecord(serializeRecord(parsed), ID)).toEqual(r)
    }
  })
  it.each([
    ['an old name with capitals', 'packageName', 'JSONStream'],
    ['a scoped name', 'packageName', '@acme/lib.js'],
    ['a prerelease with build metadata', 'version', '1.0.0-rc.1+build.5'],
    ['restricted access', 'access', 'restricted'],
    ['default access', 'access', null],
    ['an https registry with a path', 'registry', 'https://npm.pkg.example/org/'],
    ['a scp-like remote', 'git.remote', 'git@github.com:o/r.git'],
    ['an ssh remote with a login', 'git.remote', 'ssh://git@github.com/o/r.git'],
    ['a local path remote', 'git.remote', '/srv/git/r.git'],
    ['a sha256 commit', 'git.commit', 'b'.repeat(64)],
    ['a time with an offset', 'createdAt', '2026-11-01T02:00:00+02:00'],
    ['trusted automation', 'actorType', 'trusted automation'],
    ['non-ASCII text', 'rejectReason', 'ça ne compile pas — 再試行 🚫'],
  ])('accepts %s', (_what, field, value) => {
    expect(parseRecord(withField(field, value), ID)).toBeTruthy()
  })
  it('drops unknown fields, at every level, and returns a new object', () => {
    /* eslint-disable @typescript-eslint/no-explicit-any -- hostile extra fields at every depth, written as an attacker would */
    const data = JSON.parse(serializeRecord(full())) as Record<string, any>
    data.evil = 'x'
    data.git.hook = 'rm -rf /'
    data.ci.token = 'SECRET'
    data.claim.extra = 1
    data.files[0].linkTarget = '/etc/passwd'
    data.setMembers[0].integrity = 'sha512-x'
    const text = JSON.stringify(data).replace('{', '{"__proto__":{"polluted":true},"constructor":{"x":1},')
    const parsed = parseRecord(text, ID) as unknown as Record<string, any>
    expect(parsed).toEqual(full())
    expect(JSON.stringify(parsed)).not.toMatch(/evil|hook|SECRET|extra|linkTarget|polluted|constructor/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const checked = checkRecord(data, { store: true })
    expect(checked.ok && checked.record).not.toBe(data)
    /* eslint-enable @typescript-eslint/no-explicit-any */
  })
  it('a registry item (store: false) may lack integrity, files and expiry, but not the rest', () => {
    const { integrity: _i, files: _f, expiresAt: _e, ...bare } = sampleRecord()
    expect(checkRecord(bare, { store: false }).ok).toBe(true)
    expect(checkRecord(bare, { store: true })).toMatchObject({ ok: false, field: 'integrity', why: 'is missing' })
    expect(checkRecord({ ...bare, integrity: 'sha512-abc' }, { store: false })).toMatchObject({ ok: false, field: 'integrity' })
  })
})
