/**
 * package.json `stagePublish.approvals` of the approver's own project: how many distinct signers a
 * release needs, whose keys count (an allowed_signers file) and whether whoever staged it may count.
 * Never read from the staged package: whoever staged it must not choose it. Anything unexpected is an
 * error, not ignored: a misspelt key must not quietly turn the two-person rule off. Pure.
 */
import { StagePublishError } from '../errors.js'

/** More than this many signers per release is a typo. */
export const MAX_REQUIRED = 32

export interface ApprovalPolicy {
  required: number
  /** The allowed_signers file, as written (relative to the package.json it is in). */
  allowedSigners: string
  allowSelfApproval: boolean
}

export function parseApprovalPolicy(raw: unknown, where = 'package.json stagePublish.approvals'): ApprovalPolicy | null {
  if (raw === undefined) return null
  const bad = (why: string) =>
    new StagePublishError('ECONFIG', `${where} is invalid: ${why}`, {
      hint: 'Use { "required": 2, "allowedSigners": ".github/allowed_signers", "allowSelfApproval": false } (allowSelfApproval is optional).',
    })
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('it must be an object')
  const o = raw as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!['required', 'allowedSigners', 'allowSelfApproval'].includes(key)) throw bad(`unknown key ${JSON.stringify(key)} (expected "required", "allowedSigners", "allowSelfApproval")`)
  }
  const { required, allowedSigners, allowSelfApproval } = o
  if (typeof required !== 'number' || !Number.isSafeInteger(required) || required < 1 || required > MAX_REQUIRED) throw bad(`"required" must be a whole number from 1 to ${MAX_REQUIRED}`)
  if (typeof allowedSigners !== 'string' || !allowedSigners.trim() || allowedSigners.length > 4096) throw bad('"allowedSigners" must be the path of an allowed_signers file')
  if (allowSelfApproval !== undefined && typeof allowSelfApproval !== 'boolean') throw bad('"allowSelfApproval" must be true or false')
  return { required, allowedSigners, allowSelfApproval: allowSelfApproval ?? false }
}
