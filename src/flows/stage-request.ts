/**
 * What staging (one package: ./stage.ts, or workspaces as a set: ./stage-set.ts) is asked to do.
 * The command builds it from the command line (src/commands/publish.ts); the flows never see commander.
 */
import type { BackendRequest } from './context.js'

export interface StageRequest extends BackendRequest {
  /** dist-tag to publish under once approved. */
  tag?: string
  /** public or restricted (checked when the command line is parsed). */
  access?: string
  dryRun?: boolean
  ignoreScripts?: boolean
  /** How long the release may wait for approval (a duration, e.g. 30d). */
  expiresIn?: string
  /** Make a Sigstore provenance bundle for the staged tarball in CI (npm's --provenance). */
  provenance?: boolean
  /** A provenance bundle made elsewhere, verified for the staged tarball (npm's --provenance-file). */
  provenanceFile?: string
}
