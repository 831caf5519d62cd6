import { describe, expect, it } from 'vitest'
import { StagePublishError } from '../../src/errors.js'
import { applyPolicy, parsePolicy } from '../../src/core/policy.js'
import { FINDINGS, type Finding, type FindingCode } from '../../src/core/review.js'

// The policy reads codes and severities only, so the arguments are left empty.
const finding = (code: FindingCode): Finding => ({ code, severity: FINDINGS[code], args: {} }) as Finding
const findings = [finding('INSTALL_SCRIPT_ADDED'), finding('NATIVE_BINARY_ADDED'), finding('DEPENDENCY_ADDED'), finding('VERSION_PATCH')]
const blockedCodes = (...args: Parameters<typeof applyPolicy>): string[] => applyPolicy(...args).blocked.map((f) => f.code)

function errorOf(fn: () => unknown): StagePublishError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(StagePublishError)
    return err as StagePublishError
  }
  throw new Error('expected an error')
}

describe('applyPolicy', () => {
  it('blocks nothing without a threshold', () => {
    expect(applyPolicy(findings, {}, [])).toEqual({ blocked: [], allowed: [] })
  })

  it('blocks findings at or above the threshold', () => {
    expect(blockedCodes(findings, { refuse: 'danger' }, [])).toEqual(['INSTALL_SCRIPT_ADDED', 'NATIVE_BINARY_ADDED'])
    expect(blockedCodes(findings, { refuse: 'warn' }, [])).toEqual(['INSTALL_SCRIPT_ADDED', 'NATIVE_BINARY_ADDED', 'DEPENDENCY_ADDED'])
    expect(blockedCodes(findings, { refuse: 'info' }, [])).toHaveLength(4)
  })

  it('lets the policy and --allow name codes that pass, in either spelling', () => {
    const result = applyPolicy(findings, { refuse: 'danger', allow: ['NATIVE_BINARY_ADDED'] }, ['install-script-added'])
    expect(result.blocked).toEqual([])
    expect(result.allowed.map((f) => f.code)).toEqual(['INSTALL_SCRIPT_ADDED', 'NATIVE_BINARY_ADDED'])
  })

  it('an allowed code below the threshold is not listed as allowed', () => {
    expect(applyPolicy(findings, { refuse: 'danger' }, ['VERSION_PATCH']).allowed).toEqual([])
  })

  it('rejects an unknown --allow code as a usage error', () => {
    const err = errorOf(() => applyPolicy(findings, { refuse: 'danger' }, ['INSTALL_SCRIPT_ADDDED']))
    expect(err.code).toBe('EUSAGE')
    expect(err.message).toContain('INSTALL_SCRIPT_ADDDED')
    expect(err.hint).toContain('INSTALL_SCRIPT_ADDED')
  })
})

describe('parsePolicy', () => {
  it('accepts a missing policy and a well-formed one', () => {
    expect(parsePolicy(undefined)).toEqual({})
    expect(parsePolicy({})).toEqual({})
    expect(parsePolicy({ refuse: 'danger', allow: ['native-binary-changed', 'LONG_LINE'] })).toEqual({
      refuse: 'danger',
      allow: ['NATIVE_BINARY_CHANGED', 'LONG_LINE'],
    })
  })

  it.each([
    ['not an object', 'danger', /must be an object/],
    ['an array', ['danger'], /must be an object/],
    ['an unknown severity', { refuse: 'high' }, /"refuse" must be one of info, warn, danger/],
    ['a non-array allow', { allow: 'LONG_LINE' }, /"allow" must be an array/],
    ['a non-string code', { allow: [1] }, /"allow" must be an array/],
    ['an unknown code', { allow: ['NOT_A_CODE'] }, /unknown finding code "NOT_A_CODE"/],
    ['a misspelt key', { refuses: 'danger' }, /unknown key "refuses"/],
  ])('refuses %s with ECONFIG', (_what, raw, message) => {
    const err = errorOf(() => parsePolicy(raw))
    expect(err.code).toBe('ECONFIG')
    expect(err.message).toMatch(/^package\.json stagePublish\.policy is invalid: /)
    expect(err.message).toMatch(message)
    expect(err.hint).toContain('"refuse"')
  })
})
