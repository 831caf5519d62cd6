#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import module from 'node:module'
import os from 'node:os'
import path from 'node:path'

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  // What commander would print, without loading the CLI: scripts call `stage-publish --version` to probe it.
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`)
} else {
  // Node 22.1+ keeps V8's compiled code of the bundle on disk and reuses it on the next run (Node 20 has
  // no compile cache; NODE_DISABLE_COMPILE_CACHE=1 turns it off). In the user's own cache folder, not the
  // shared temp folder Node defaults to: code read from there would run with the approver's npm credentials.
  // (A relative XDG_CACHE_HOME is ignored, as the XDG spec asks: it would put the cache in the package folder.)
  const xdg = process.env.XDG_CACHE_HOME
  const cacheHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache')
  module.enableCompileCache?.(path.join(cacheHome, 'stage-publish', 'compile-cache'))
  // Imported after the cache is on, so that the bundles themselves are compiled through it.
  // `list` first tries its own small bundle (src/list-main.ts), which declines (undefined) whatever it does not take.
  let code = args[0] === 'list' || args[0] === 'ls' ? await (await import('../dist/list.js')).listMain(process.argv) : undefined
  if (code === undefined) {
    const { main, quietOnClosedPipe } = await import('../dist/cli.js')
    quietOnClosedPipe()
    code = await main(process.argv)
  }
  process.exitCode = code
}
