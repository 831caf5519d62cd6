/**
 * Proof of presence for registry writes, the way npm does it (lib/utils/auth.js otplease), for one
 * write or for a whole batch:
 *  - classic: the registry answers EOTP, the approver types a code, the write is repeated with it;
 *  - web: the registry answers with authUrl/doneUrl, the URL is shown, doneUrl is polled for a token.
 * One OtpSession is shared by every write of a batch, so the code typed once is reused. A refusal of
 * a code the registry accepted before means it expired or was used up (registries that refuse a
 * replay, like Verdaccio): a fresh one is asked for once, in a terminal. A fresh code refused is a
 * wrong code: asked again, up to 3 codes. Without a terminal nothing is asked: EOTP.
 */
import { StagePublishError } from '../errors.js'
import { waitForWebAuth } from '../npm/publish.js'
import type { WriteAuth } from '../backends/types.js'
import type { Prompts } from '../ui/prompts.js'
import type { Output } from '../ui/output.js'
import { inline } from '../ui/sanitize.js'

const MAX_OTP_TRIES = 3
const WEB_AUTH_TIMEOUT_MS = 5 * 60_000

export interface OtpSession {
  /** The code (or web-auth token) sent with the next write; undefined until there is one. */
  code?: string
  /** Whether the registry accepted `code` before: a refusal then means expired or used, not wrong. */
  accepted: boolean
}

export interface OtpContext {
  prompts: Prompts
  authType: 'legacy' | 'web'
  out: Output
  /** npm's options and the registry, for polling a web-auth doneUrl. */
  flat: Record<string, unknown>
  registry: string
  /** What to run to try again, for the EOTP hint: `stage-publish approve <id>`. */
  retry: string
}

type Challenge = { ok: false; reason: 'otp'; message: string } | { ok: false; reason: 'web-auth'; authUrl: string; doneUrl: string }
type Result = { ok: true } | { ok: false; reason: string }

/** Repeats `write` with the session's code until the registry stops asking for proof of presence. */
export async function withOneTimePassword<T extends Result>(write: (auth: WriteAuth) => Promise<T | Challenge>, session: OtpSession, ctx: OtpContext): Promise<Exclude<T | Challenge, Challenge>> {
  const { prompts, out } = ctx
  let tries = 1
  for (;;) {
    const res = await write({ ...(session.code && { otp: session.code }), authType: session.code ? 'legacy' : 'web' })
    if (!isChallenge(res)) {
      if (res.ok) session.accepted = true
      return res as Exclude<T | Challenge, Challenge>
    }
    if (res.reason === 'web-auth') {
      out.tell(`Authenticate your account at:\n  ${inline(res.authUrl)}\nWaiting for you to finish in the browser...`)
      session.code = await waitForWebAuth(res.doneUrl, { ...ctx.flat, registry: ctx.registry }, WEB_AUTH_TIMEOUT_MS)
      session.accepted = false
      continue
    }
    const expired = session.accepted
    if (!prompts.interactive || ctx.authType === 'web' || (!expired && tries >= MAX_OTP_TRIES)) throw refused(expired, tries, ctx)
    if (expired) {
      out.tell(out.style('yellow', 'The registry no longer accepts that one-time password (it expired or was already used). Enter a fresh one to carry on.'))
      tries = 1
    } else {
      tries++
      out.tell(out.style('yellow', 'That code was not accepted. Wait for the next one from your authenticator.'))
    }
    session.code = await prompts.otp('One-time password:')
    session.accepted = false
  }
}

const isChallenge = (res: Result | Challenge): res is Challenge => !res.ok && (res.reason === 'otp' || res.reason === 'web-auth')

function refused(expired: boolean, tries: number, ctx: OtpContext): StagePublishError {
  const why = expired ? ' any more (it expired or was already used)' : tries > 1 ? ` (${tries} tries)` : ''
  return new StagePublishError('EOTP', `The registry did not accept the one-time password${why}; nothing was published`, {
    hint: `The release is still pending. Run \`${ctx.retry}\` again with a fresh code${ctx.prompts.interactive ? '' : ' (--otp <code>)'}.`,
  })
}
