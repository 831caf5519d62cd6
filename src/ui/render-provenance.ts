/**
 * Words for provenance: what a verified Sigstore bundle proves (source, commit, workflow, builder, run,
 * signer), or why the staged one cannot be shown as proven. Pure; every value from a bundle through inline().
 */
import type { ProvenanceFacts } from '../core/provenance.js'
import type { Style } from './output.js'
import { inline } from './sanitize.js'

/** What view and approve know of a release's provenance: verified facts, why not, or none staged (absent). */
export type ProvenanceShown = { facts: ProvenanceFacts } | { unverified: string }

export function provenanceLines(facts: ProvenanceFacts, style: Style, heading = 'Provenance (the bundle verifies, offline, with the trust root sigstore ships):'): string[] {
  const lines = [style('bold', heading)]
  if (facts.repository || facts.commit) {
    lines.push(`  source:      ${inline(facts.repository ?? 'unknown repository')}${facts.commit ? ` at ${inline(facts.commit)}` : ''}${facts.ref ? ` (${inline(facts.ref)})` : ''}`)
  }
  if (facts.workflowPath) lines.push(`  workflow:    ${inline(facts.workflowPath)}${facts.workflowRef ? `@${inline(facts.workflowRef)}` : ''}`)
  if (facts.builder) lines.push(`  builder:     ${inline(facts.builder)}`)
  if (facts.invocation) lines.push(`  run:         ${inline(facts.invocation)}`)
  if (facts.signer) lines.push(`  signed by:   ${inline(facts.signer.identity)}${facts.signer.issuer ? ` (issuer ${inline(facts.signer.issuer)})` : ''}`)
  lines.push(`  statement:   ${inline(facts.predicateType)}`)
  return lines
}

/** The block for view/approve: nothing when no provenance was staged. */
export function renderProvenance(shown: ProvenanceShown | undefined, style: Style): string[] {
  if (!shown) return []
  if ('unverified' in shown) return [`${style('red', 'Provenance not verified:')} ${inline(shown.unverified)}`]
  return provenanceLines(shown.facts, style)
}

/** Printed while staging, once the bundle verified for the staged bytes. */
export const renderProvenanceNotice = (facts: ProvenanceFacts, style: Style): string =>
  provenanceLines(facts, style, 'Provenance (verified for this tarball; stored with it):').join('\n')
