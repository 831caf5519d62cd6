/**
 * Letting go on the way out. A process killed by a signal (terminal closed, SSH dropped: SIGHUP; `kill`,
 * a CI runner or systemd stopping: SIGTERM; Ctrl+C outside a prompt: SIGINT) runs no `finally`: whoever
 * holds something shared (an approval claim) registers what to undo here, and it runs before the
 * process exits. Listeners exist only while something is held, so otherwise signals keep Node's default.
 * A second signal exits at once; the whole clean-up is bounded so a dead network never keeps a
 * process alive that was asked to stop.
 */
type Handler = (signal: NodeJS.Signals) => Promise<void>

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const
type Caught = keyof typeof SIGNALS
/** Longer than any one handler's own wait (PUBLISH_GRACE_MS in approve-one.ts) plus a compare-and-set. */
const CLEANUP_LIMIT_MS = 15_000

const handlers = new Set<Handler>()
let stopping = false

function onSignal(signal: Caught): void {
  const code = 128 + SIGNALS[signal]
  if (stopping) process.exit(code)
  stopping = true
  // A closed terminal fails every write (EIO, emitted as 'error'): nothing printed may crash the clean-up.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
  const all = Promise.allSettled([...handlers].map(async (h) => h(signal)))
  const limit = new Promise((resolve) => setTimeout(resolve, CLEANUP_LIMIT_MS).unref())
  void Promise.race([all, limit]).finally(() => process.exit(code))
}

const listeners = Object.fromEntries(Object.keys(SIGNALS).map((s) => [s, () => onSignal(s as Caught)])) as Record<Caught, () => void>

/** Runs `undo` if the process is stopped by a signal before the returned function is called. */
export function untilReleased(undo: Handler): () => void {
  if (handlers.size === 0) for (const s of Object.keys(listeners) as Caught[]) process.on(s, listeners[s])
  handlers.add(undo)
  return () => {
    handlers.delete(undo)
    if (handlers.size === 0 && !stopping) for (const s of Object.keys(listeners) as Caught[]) process.off(s, listeners[s])
  }
}
