/**
 * Bounded concurrency for a backend's many small reads: thousands of records read at once would
 * open thousands of files (EMFILE under a low `ulimit -n`) or sockets.
 */

/** Runs fn over items with at most `limit` in flight. The first failure rejects; no new item starts after it. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++] as T)
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
}
