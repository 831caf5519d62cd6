/**
 * npm announces each lifecycle script it runs in the foreground with a banner (`> name@version event`,
 * then `> command`). @npmcli/run-script does not print it: it emits it as a proc-log `output` event on
 * `process`, and npm's display writes it (to stdout; see npm lib/utils/display.js). Nothing in this
 * process listens to proc-log, so without this the banners of prepublishOnly and of libnpmpack's
 * prepack/prepare/postpack would be lost.
 */
type OutputListener = (level: unknown, ...args: unknown[]) => void

/** Runs `fn`, handing every run-script banner emitted meanwhile to `write`, as npm writes it (a line of its own follows). */
export async function withScriptBanners<T>(write: ((banner: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  if (!write) return fn()
  const listener: OutputListener = (level, ...args) => {
    const [text] = args
    // npm's own test for "this is a run-script banner" (display.js): '\n> ' ... '\n'.
    if (level === 'standard' && typeof text === 'string' && text.startsWith('\n> ') && text.endsWith('\n')) write(text)
  }
  process.on('output', listener)
  try {
    return await fn()
  } finally {
    process.off('output', listener)
  }
}
