/**
 * A reader that goes away (`stage-publish list | head -1`) is not an error. Node reports it as an
 * unhandled EPIPE 'error' event with a stack trace; here further output is dropped instead and the
 * command finishes with its own exit code (an approval half-way is not cut short by a closed pipe).
 */
export function quietOnClosedPipe(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return
      throw err
    })
  }
}
