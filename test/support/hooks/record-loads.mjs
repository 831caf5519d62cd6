// Preloaded with `node --import` by tests: records every module the process loads (ESM through a
// resolve hook, CommonJS through require.cache, Node's public builtins as node:<name>) and writes the list to $RECORD_LOADS_FILE at exit.
import { register } from 'node:module'
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { MessageChannel } from 'node:worker_threads'

const loaded = new Set()
const { port1, port2 } = new MessageChannel()
port1.on('message', (url) => loaded.add(url))
port1.unref()
register(
  'data:text/javascript,' +
    encodeURIComponent(`
let port
export function initialize(data) { port = data.port }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  port.postMessage(r.url)
  return r
}`),
  import.meta.url,
  { data: { port: port2 }, transferList: [port2] },
)
const require = createRequire(import.meta.url)
process.on('exit', () => {
  for (const key of Object.keys(require.cache)) loaded.add(key)
  // Node's own public modules, however they were loaded (import, require, or by another builtin): `node:crypto`.
  for (const m of process.moduleLoadList) if (m.startsWith('NativeModule ') && !m.includes('internal/')) loaded.add(`node:${m.slice(13)}`)
  writeFileSync(process.env.RECORD_LOADS_FILE, JSON.stringify([...loaded]))
})
