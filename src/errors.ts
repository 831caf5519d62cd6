/**
 * One error type for everything the user can be told about: a code, a summary that says what
 * happened, a hint that says what to do, and the process exit code. Nothing secret ever goes in.
 * (npm lib/utils/error-message.js, pnpm PnpmError(code, message, { hint }))
 */
import { isSecretParam } from './secret-param.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
/** `wait`: the release was not decided within --timeout (as timeout(1) exits when it stops a command). */
export const EXIT_TIMEOUT = 124

export type ErrorCode =
  | 'EUSAGE'
  | 'EINVALIDID'
  | 'ENOTFOUND'
  | 'EAMBIGUOUS'
  | 'EPRIVATE'
  | 'EBADMANIFEST'
  | 'ETAG'
  | 'EPUBLISHCONFLICT'
  | 'EALREADYSTAGED'
  | 'ECIBACKEND'
  | 'EBACKEND'
  | 'EBACKENDUNREACHABLE'
  | 'EACCESSDENIED'
  | 'ECONFLICT'
  | 'EINTEGRITY'
  | 'ECORRUPT'
  | 'EUNSAFETARBALL'
  | 'ETOOLARGE'
  | 'ESTATE'
  | 'EEXPIRED'
  | 'EOTP'
  | 'ENEEDOTP'
  | 'ENEEDCONFIRM'
  | 'ENEEDAUTH'
  | 'EREGISTRY'
  | 'EREGISTRYUNREACHABLE'
  /** The registry URL answers, but not as an npm registry (an HTML page, not JSON). */
  | 'ENOTREGISTRY'
  | 'ENOSTAGE'
  /** Trusted publishing (OIDC): no id token, or the registry would not exchange it / stage with it. */
  | 'EOIDC'
  | 'EVALIDATING'
  | 'EABORTED'
  | 'ECONFIG'
  | 'EPACK'
  | 'EPOLICY'
  | 'EEXPECT'
  | 'ESETINCOMPLETE'
  | 'ESETMISMATCH'
   
  | 'ENOTALLPUBLISHED'
  /** `wait`: a release was rejected, expired, removed, or published with other bytes. */
  | 'ENOTAPPROVED'
  /** `wait`: not decided within --timeout (exit code EXIT_TIMEOUT). */
  | 'EWAITTIMEOUT'
  /** `doctor`: at least one check failed. */
  | 'EDOCTOR'
  /** No usable SSH signing key, or ssh-keygen could not sign (stagePublish.approvals). */
  | 'ESIGNKEY'
  /** The signing key may not approve: not in allowed_signers, or its holder staged the release. */
  | 'ESIGNER'
  /** M-of-N approvals asked of a backend that cannot store them (a registry's staging API). */
  | 'ENOQUORUM'
  /** verify-approvals: fewer distinct listed signers than required signed the bytes the registry serves. */
  | 'EAPPROVALS'
  /** A provenance bundle that is not for these bytes, does not verify, or could not be made or published. */
  | 'EPROVENANCE'

export interface StagePublishErrorOptions {
  hint?: string
  exitCode?: number
  cause?: unknown
  /** The user has been told already (a batch summary was printed): only the exit code is left to set. */
  reported?: boolean
}

export class StagePublishError extends Error {
  readonly code: ErrorCode
  readonly hint: string | undefined
  readonly exitCode: number
  readonly reported: boolean

  constructor(code: ErrorCode, summary: string, options: StagePublishErrorOptions = {}) {
    super(summary, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StagePublishError'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? (code === 'EUSAGE' || code === 'EINVALIDID' ? EXIT_USAGE : EXIT_FAILURE)
    this.reported = options.reported ?? false
  }
}

export const isStagePublishError = (err: unknown): err is StagePublishError =>
  err instanceof StagePublishError

export const usageError = (summary: string, hint?: string): StagePublishError =>
  new StagePublishError('EUSAGE', summary, { hint, exitCode: EXIT_USAGE })

/**
 * Removes anything that looks like a credential from text that is about to be shown or stored:
 * bearer tokens, npm tokens, basic auth in URLs, a token as the user of an http(s) URL,
 * token-like query parameters (`?access_token=`, `&X-Amz-Signature=`...), `_authToken=`/`_password=`
 * lines and OTP headers. A last line of defence: code never puts secrets into messages on purpose.
 */
export function redact(text: string): string {
  return text
    .replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***')
    .replace(/\bnpm_[A-Za-z0-9]{20,}\b/g, 'npm_***')
    .replace(/(\/\/[^/\s:@]*:)[^@\s/]+@/g, '$1***@')
    .replace(/(\b(?:git\+)?https?:\/\/)[^\s/@:]+@/gi, '$1***@')
    .replace(/([?&;])([^=&\s#"'<>?;]+)=([^&\s#"'<>;]*)/g, (all, sep: string, name: string) => (isSecretParam(safeDecode(name)) ? `${sep}${name}=***` : all))
    .replace(/\b(_authToken|_auth|_password|password|token|otp|npm-otp)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1$2***')
    .replace(/(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=[^&\s]+/gi, '$1=***')
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

export interface ErrorJson {
  error: { code: string; summary: string; detail: string }
}

/** npm's `--json` error shape, so tools that parse npm's output keep working. */
export function errorToJson(err: unknown): ErrorJson {
  if (isStagePublishError(err)) {
    return { error: { code: err.code, summary: redact(err.message), detail: redact(err.hint ?? '') } }
  }
  const e = err as { code?: unknown; message?: unknown } | undefined
  return {
    error: {
      code: typeof e?.code === 'string' ? e.code : 'EUNKNOWN',
      summary: redact(String(e?.message ?? err)),
      detail: '',
    },
  }
}

export function exitCodeOf(err: unknown): number {
  return isStagePublishError(err) ? err.exitCode : EXIT_FAILURE
}
