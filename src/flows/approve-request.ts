/**
 * What `approve` is asked to do, as the approve flows accept it. The command builds it from the
 * command line (where the flags are checked: src/commands/approve.ts); the flows never see commander.
 */
import type { BackendRequest } from './context.js'
import type { PinOptions } from './pin.js'
import type { FinalHopChoice } from './final-hop.js'

export interface ApproveRequest extends BackendRequest, PinOptions {
  otp?: string
  yes?: boolean
  /** legacy: a code from the authenticator (default); web: the browser sign-in the registry offers. */
  authType?: 'legacy' | 'web'
  /** How long to wait for another maintainer approving the same release (a duration, e.g. 60s). */
  wait?: string
  /** Finding codes the policy lets through for this approval. */
  allow?: string[]
  /** Every pending release of this package. */
  package?: string
  /** Every pending release. */
  all?: boolean
  /**
   * Record stores: publish directly, or stage on the registry's own staging API and approve there;
   * auto (default) stages where the registry implements it.
   */
  finalHop?: FinalHopChoice
  /** With package.json stagePublish.approvals: the SSH key that signs the approval (default: git's user.signingKey). */
  signingKey?: string
}
