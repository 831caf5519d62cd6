/**
 * The provenance a release would be published with, against what its record claims: the record's git
 * and CI fields are the stager's word, the verified bundle is Sigstore's. Where both say something
 * about the same thing and disagree, one of them is not what the approver thinks it is. Pure.
 */
import type { CiInfo, GitInfo } from '../record-types.js'
import type { ProvenanceFacts, ProvenanceReview } from '../provenance.js'
import type { Add } from './findings.js'

export type { ProvenanceReview }

export type ProvenanceField = 'repository' | 'commit' | 'ref' | 'workflow' | 'run'

export interface ProvenanceMismatch {
  field: ProvenanceField
  provenance: string
  record: string
}

export function reviewProvenance(input: ProvenanceReview | undefined, add: Add): void {
  if (!input) return
  if ('unverified' in input) {
    add('PROVENANCE_UNVERIFIED', { reason: input.unverified })
    return
  }
  for (const m of provenanceMismatches(input.facts, input.claimed)) add('PROVENANCE_MISMATCH', { ...m })
}

/** Every field both sides state, where they differ. A side that says nothing is not a mismatch. */
export function provenanceMismatches(facts: ProvenanceFacts, claimed: { git?: GitInfo; ci?: CiInfo }): ProvenanceMismatch[] {
  const out: ProvenanceMismatch[] = []
  const { git, ci } = claimed
  if (facts.repository && git?.remote && repoKey(facts.repository) !== repoKey(git.remote)) {
    out.push({ field: 'repository', provenance: facts.repository, record: git.remote })
  }
  if (facts.commit && git?.commit && facts.commit.toLowerCase() !== git.commit.toLowerCase()) {
    out.push({ field: 'commit', provenance: facts.commit, record: git.commit })
  }
  if (facts.ref && ci?.ref && !sameRef(facts.ref, ci.ref)) out.push({ field: 'ref', provenance: facts.ref, record: ci.ref })
  // GITHUB_WORKFLOW_REF (`owner/repo/.github/workflows/x.yml@refs/heads/main`) names the workflow file; a bare
  // workflow name (GITHUB_WORKFLOW, older records) cannot be compared with a path.
  // A v0.2 statement's entry point is a workflow or job *name* (npm 9.1 on GitHub, GitLab's job): not comparable.
  if (facts.workflowPath?.includes('/') && ci?.workflow && /\/.+@/.test(ci.workflow)) {
    const stated = facts.workflowRef ? `${facts.workflowPath}@${facts.workflowRef}` : facts.workflowPath
    const claim = facts.workflowRef ? ci.workflow : ci.workflow.slice(0, ci.workflow.lastIndexOf('@'))
    if (!claim.endsWith(`/${stated}`)) out.push({ field: 'workflow', provenance: stated, record: ci.workflow })
  }
  if (facts.invocation && ci?.runUrl && /^https?:\/\//.test(facts.invocation) && runKey(facts.invocation) !== runKey(ci.runUrl)) {
    out.push({ field: 'run', provenance: facts.invocation, record: ci.runUrl })
  }
  return out
}

/** `git@github.com:o/r.git`, `ssh://git@github.com/o/r`, `git+https://github.com/O/r.git` → `github.com/o/r`. */
export function repoKey(url: string): string {
  let s = url.trim().replace(/^git\+/, '')
  const scp = /^[^@/:]+@([^:/]+):(.+)$/.exec(s)
  if (scp) s = `${scp[1] as string}/${scp[2] as string}`
  else s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^@/]*@/, '')
  return s.replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase()
}

/** A run, whichever attempt: `…/actions/runs/123/attempts/2` and `…/actions/runs/123` are one run. */
const runKey = (url: string): string => url.replace(/\/attempts\/\d+\/?$/, '').replace(/\/+$/, '')

/** `refs/heads/main` and `main` (GitLab's CI_COMMIT_REF_NAME) are the same ref; `refs/tags/x` and `refs/heads/x` are not. */
function sameRef(a: string, b: string): boolean {
  if (a === b) return true
  if (a.startsWith('refs/') === b.startsWith('refs/')) return false
  const short = (r: string) => r.replace(/^refs\/(heads|tags)\//, '')
  return short(a) === short(b)
}
