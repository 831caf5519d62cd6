/**
 * The only importer of @inquirer/prompts. Never prompts without a terminal: callers check
 * `interactive` first and fail with an error that names the flag to use instead.
 */
import type { Readable, Writable } from 'node:stream'
import { StagePublishError } from '../errors.js'
import { sanitize } from './sanitize.js'

export interface Prompts {
  /** True when both ends are a terminal (or streams were injected, as in tests). */
  readonly interactive: boolean
  confirm(message: string): Promise<boolean>
  /** Hidden input, 6 to 8 digits. */
  otp(message: string): Promise<string>
}

export const OTP_RE = /^\d{6,8}$/

export function createPrompts(streams?: { input: Readable; output: Writable }): Prompts {
  const interactive = streams ? true : Boolean(process.stdin.isTTY && process.stdout.isTTY)
  const context = streams ? { input: streams.input, output: streams.output } : undefined
  return {
    interactive,
    async confirm(message) {
      const { confirm } = await import('@inquirer/prompts')
      // The prompt library writes to the terminal itself: its message goes through the sanitiser like every other line.
      return aborted(() => confirm({ message: sanitize(message), default: false }, context))
    },
    async otp(message) {
      const { password } = await import('@inquirer/prompts')
      const code = await aborted(() =>
        password(
          {
            message: sanitize(message),
            // mask: false echoes nothing at all, not even the number of digits typed.
            mask: false,
            validate: (value: string) => OTP_RE.test(value.trim()) || 'Enter the 6 to 8 digit code from your authenticator app',
          },
          context,
        ),
      )
      return code.trim()
    },
  }
}

async function aborted<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError' || (err as Error).name === 'AbortPromptError') {
      throw new StagePublishError('EABORTED', 'Cancelled at the prompt; nothing was published', { exitCode: 1 })
    }
    throw err
  }
}
