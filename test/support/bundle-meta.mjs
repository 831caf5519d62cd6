// The built CLI is a bundle (scripts/build.mjs): a loaded dist/chunks/*.js file stands for the npm
// packages and sources esbuild put into it. The build's metafile (.tmp/build-meta.json) says which;
// this turns a list of loaded files into the files they hold, so checks such as "`--help` loads no
// pacote" keep meaning what they say. One helper for test/e2e/startup.test.ts and bench/run.mjs.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

let outputs
function metafileOutputs() {
  outputs ??= JSON.parse(readFileSync(path.join(ROOT, '.tmp', 'build-meta.json'), 'utf8')).outputs
  return outputs
}

/**
 * Each loaded module (file: URL or path) followed by the absolute paths of the sources bundled into it
 * (e.g. <root>/node_modules/pacote/lib/index.js). Modules that are not part of the bundle pass through.
 * @param {string[]} loaded @returns {string[]}
 */
export function withBundledSources(loaded) {
  const out = []
  for (const entry of loaded) {
    out.push(entry)
    const file = entry.startsWith('file:') ? fileURLToPath(entry) : entry
    const rel = path.relative(ROOT, file).split(path.sep).join('/')
    if (!rel.startsWith('dist/')) continue
    const inputs = metafileOutputs()[rel]?.inputs
    if (!inputs) throw new Error(`${rel} is not in .tmp/build-meta.json: rebuild (npm run build)`)
    for (const input of Object.keys(inputs)) out.push(path.join(ROOT, input))
  }
  return out
}
