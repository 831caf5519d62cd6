/**
 * Long output through a pager, as git does: `$PAGER`, else `less -R`, and only when stdout is a
 * terminal (never into a pipe, a file or a test). LESS defaults to FRX, as git sets it: quit when it
 * fits on one screen, keep colours, leave the text on screen after quitting.
 */
import { spawn } from 'node:child_process'
import type { Writable } from 'node:stream'
import { redact } from '../errors.js'
import { toTerminal } from './style.js'

export interface PagerContext {
  stdout: Writable
  env: NodeJS.ProcessEnv
  /** Whether stdout gets colour (Output's `color.stdout`); without it, none. */
  color?: boolean
}

/** The pager command to use, or null to write straight to stdout. */
export function pagerCommand(ctx: PagerContext): string | null {
  if (!(ctx.stdout as { isTTY?: boolean }).isTTY) return null
  const pager = ctx.env.PAGER ?? 'less -R'
  return pager.trim() === '' || pager.trim() === 'cat' ? null : pager
}

/** Writes `text` (redacted and sanitised, like everything else we print: output.ts) through the pager, or to stdout. */
export async function page(text: string, ctx: PagerContext): Promise<void> {
  const body = `${toTerminal(redact(text), Boolean(ctx.color))}\n`
  const command = pagerCommand(ctx)
  if (command === null) {
    ctx.stdout.write(body)
    return
  }
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { LESS: 'FRX', LV: '-c', ...ctx.env },
    })
    child.on('error', () => resolve(null))
    child.on('close', (exitCode) => resolve(exitCode))
    // Quitting the pager before the end closes the pipe: that is the user's choice, not an error.
    child.stdin.on('error', () => {})
    child.stdin.end(body)
  })
  // The pager could not be started (127: the shell did not find it): the text still has to be shown.
  if (code === null || code === 127) ctx.stdout.write(body)
}
