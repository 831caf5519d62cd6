#!/usr/bin/env node
/**
 * The shipped build: src/ and the npm libraries it uses bundled by esbuild into dist/, so that
 * `npx stage-publish` installs one package instead of ~180 (npm run build; type checking stays with tsc).
 *
 *   dist/cli.js                 the entry bin/stage-publish.js imports; only commander and the command table
 *   dist/list.js                `list` on a local backend in one file, no commander (src/list-main.ts): the bin
 *                               tries it first for `list`; built on its own, without the other backends
 *   dist/chunks/*.js            code split at every dynamic import(): a command loads only what it needs
 *   dist/chunks/node-gyp-bin/   the `node-gyp` shim @npmcli/run-script puts on lifecycle scripts' PATH
 *   dist/backends/{local,s3}.js entries for bench/run.mjs (it writes records straight into a backend)
 *   dist/THIRD-PARTY-NOTICES.txt the licence of every bundled package (their terms require the notices)
 *   .tmp/build-meta.json        esbuild's metafile: which sources each output holds (tests map loaded chunks
 *                               back to packages with it); not shipped
 *
 * Any import of a package from src/ is bundled without per-package work: static `import`, `await import()`,
 * and `require('x')` through `const require = createRequire(import.meta.url)` (the pattern src/npm/ uses to
 * load CommonJS lazily; see `bundleCreateRequire` below). What must NOT be bundled is listed in EXTERNAL:
 * the one place to add a package that has to stay a real install (one users add themselves, a native addon).
 * A bundled package that finds files next to itself at run time needs an entry in VENDOR_PATCHES. The build
 * fails when the bundle would still ask Node for a package at run time, unless EXTERNAL or RUNTIME_RESOLVES
 * says so: test/e2e/packed-install.test.ts runs the packed tarball with no node_modules around it.
 */
import { build } from 'esbuild'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, isBuiltin } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DIST = path.join(ROOT, 'dist')

/**
 * Packages left to Node's resolver at run time. The AWS SDK (22 MB, ~100 packages) is not a dependency at
 * all: only the S3 backend needs it, its users install it next to stage-publish, and src/backends/s3.ts names
 * the install command when it is missing. (Not an optional peer either: npm would then download its 3 MB
 * packument on every cold `npx stage-publish`, S3 or not, to check a version range it never installs.)
 */
const EXTERNAL = ['@aws-sdk/*']

/**
 * The few changes bundled code needs: files located next to a library at run time, and start-up costs.
 * Each `from` must occur in its file exactly once, or the build fails: an upgrade that moves the code is
 * noticed here, not by a user.
 */
const VENDOR_PATCHES = [
  {
    // Puts its `node-gyp-bin` shim folder (a `node-gyp` that runs $npm_config_node_gyp) on the PATH of
    // every lifecycle script; bundled, `__dirname` is dist/chunks, so the folder is copied there.
    file: 'node_modules/@npmcli/run-script/lib/set-path.js',
    from: "resolve(__dirname, '../lib/node-gyp-bin')",
    to: "resolve(__dirname, 'node-gyp-bin')",
    copy: ['node_modules/@npmcli/run-script/lib/node-gyp-bin', 'dist/chunks/node-gyp-bin'],
  },
  {
    // Loaded only to run a subcommand as a separate executable, which we never do; loading it (with net,
    // dgram and streams) is ~5% of `--help`.
    file: 'node_modules/commander/lib/command.js',
    from: "const childProcess = require('node:child_process');",
    to: "const childProcess = { get spawn() { return require('node:child_process').spawn; } };",
  },
  {
    // An optional dependency, only for Body.textConverted(), which no npm library calls; loading it (0.5 MB
    // of character tables, run at load) cost every registry request's first use. Left out, as when absent.
    file: 'node_modules/minipass-fetch/lib/body.js',
    from: "decode = require('iconv-lite').decode",
    to: "decode = undefined",
  },
  {
    // Only for `verifyAttestations` (npm audit signatures), which we never pass; loaded on use instead of with
    // pacote, so that packing does not run sigstore's, TUF's and protobuf's module code.
    file: 'node_modules/pacote/lib/registry.js',
    from: "const sigstore = require('sigstore')",
    to: "const sigstore = { verify: (...args) => require('sigstore').verify(...args) }",
  },
]

/**
 * Bare module names the bundle may still ask Node for at run time, besides builtins and EXTERNAL. The
 * build fails on any other (a package esbuild could not bundle would otherwise fail only on users' machines).
 */
const RUNTIME_RESOLVES = new Set([
  // @npmcli/config's `node-gyp` default (inside try/catch: '' when absent) and @npmcli/run-script's fallback
  // when no nodeGyp option is given; src/npm/config.ts sets npm's own node-gyp and src/npm/pack.ts passes it.
  'node-gyp/bin/node-gyp.js',
])

/** Lets esbuild see `require('x')` in src/: it bundles calls of the free `require`, not of a local one. */
const bundleCreateRequire = {
  name: 'bundle-create-require',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, (args) => {
      if (!args.path.startsWith(path.join(ROOT, 'src') + path.sep)) return undefined
      const source = readFileSync(args.path, 'utf8')
      // Both spellings in src/: a module-wide `require`, and `createRequire(import.meta.url)('x')` inline.
      // (The banner below defines `require` for what esbuild leaves to run time: Node's builtins.)
      const contents = source
        .replace(/^const require = createRequire\(import\.meta\.url\)$/gm, '')
        .replace(/\bcreateRequire\(import\.meta\.url\)\(/g, 'require(')
      if (/createRequire\(/.test(contents.replace(/^import .*$/gm, ''))) {
        return { errors: [{ text: 'createRequire() used in a way scripts/build.mjs does not bundle: use `const require = createRequire(import.meta.url)` or import()' }] }
      }
      return { contents, loader: 'ts' }
    })
  },
}

const applied = new Set()
const vendorPatches = {
  name: 'vendor-patches',
  setup(b) {
    for (const entry of VENDOR_PATCHES) {
      const abs = path.join(ROOT, entry.file)
      b.onLoad({ filter: new RegExp(`${escapeRegExp(entry.file.split('/').slice(1).join('/'))}$`) }, (args) => {
        if (path.resolve(args.path) !== abs) return undefined
        const source = readFileSync(abs, 'utf8')
        if (source.split(entry.from).length !== 2) throw new Error(`${entry.file}: expected "${entry.from}" once; update VENDOR_PATCHES in scripts/build.mjs`)
        applied.add(entry)
        return { contents: source.replace(entry.from, entry.to), loader: 'js' }
      })
    }
  },
}
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/**
 * `await import('<a CommonJS package>')` as Node answers it: `default` is module.exports and its
 * properties are named exports too (`const { verify } = await import('sigstore')`). Split by esbuild,
 * such an import would only have `default`. The names are those module.exports has when the build loads
 * the package (Node finds them by reading its source, which sees fewer: every name Node gives is there).
 */
const cjsDynamicImports = {
  name: 'cjs-dynamic-imports',
  setup(b) {
    const requireFromRoot = createRequire(path.join(ROOT, 'package.json'))
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.namespace !== 'file' || args.pluginData?.interop || isBuiltin(args.path) || isExternal(args.path)) return undefined
      // Resolved as an import (a package with both builds gives its ES module one, which needs no help).
      const resolved = await b.resolve(args.path, { kind: 'dynamic-import', resolveDir: args.resolveDir, pluginData: { interop: true } })
      if (resolved.errors.length || !isCommonJs(resolved.path)) return undefined
      return { path: resolved.path, namespace: 'cjs-interop', pluginData: { specifier: args.path } }
    })
    b.onLoad({ filter: /.*/, namespace: 'cjs-interop' }, (args) => {
      const names = Object.getOwnPropertyNames(requireFromRoot(args.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n))
      const file = JSON.stringify(args.path)
      const contents = `const m = require(${file});\nexport default m;\n${names.length ? `export const { ${names.join(', ')} } = m;\n` : ''}`
      return { contents, loader: 'js', resolveDir: path.dirname(args.path) }
    })
  },
}

/** Whether Node loads this file as CommonJS: .cjs, or .js with no "type": "module" in its package. */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true
  if (!file.endsWith('.js')) return false
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json')
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type !== 'module'
  }
  return true
}
const isExternal = (name) => EXTERNAL.some((e) => (e.endsWith('/*') ? name.startsWith(e.slice(0, -1)) : name === e))

// CommonJS inside an ES module bundle expects `require`, `__filename` and `__dirname`; each output file
// gets its own (names prefixed so they cannot clash with bundled code's top-level names).
const banner = [
  "import { createRequire as __sp_createRequire } from 'node:module';",
  "import { fileURLToPath as __sp_fileURLToPath } from 'node:url';",
  "import { dirname as __sp_dirname } from 'node:path';",
  'const require = __sp_createRequire(import.meta.url);',
  'const __filename = __sp_fileURLToPath(import.meta.url);',
  'const __dirname = __sp_dirname(__filename);',
].join('\n')

/**
 * What dist/list.js leaves out: the other backends and npm's configuration (which only they use). It never
 * reaches them: src/list-main.ts hands any backend but a local folder to the full CLI before opening one. Should
 * a change make it reach one anyway, the import fails with a clear error instead of a wrong listing.
 */
const LIST_BUNDLE_LEAVES_OUT = ['src/backends/s3.ts', 'src/backends/registry.ts', 'src/npm/config.ts']
const listBundleOnly = {
  name: 'list-bundle-only',
  setup(b) {
    const left = new Set(LIST_BUNDLE_LEAVES_OUT.map((f) => path.join(ROOT, f)))
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData?.listBundle) return undefined
      const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { listBundle: true } })
      if (!left.has(resolved.path)) return undefined
      return { path: resolved.path, namespace: 'left-out' }
    })
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`stage-publish: ${path.relative(ROOT, args.path)} is not in dist/list.js (a bug: src/list-main.ts should have left this command to the full CLI)`)})`,
      loader: 'js',
    }))
  },
}

/** Options both builds share. */
const common = {
  absWorkingDir: ROOT,
  outdir: DIST,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.17',
  external: EXTERNAL,
  banner: { js: banner },
  // Keeps the licence comments of bundled code (/*! ... */, @license, @preserve) in one file per output.
  legalComments: 'linked',
  // Whitespace and syntax only: stack traces keep their function names.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: false,
  metafile: true,
  logLevel: 'warning',
}

rmSync(DIST, { recursive: true, force: true })
const main = await build({
  ...common,
  entryPoints: { cli: 'src/cli.ts', 'backends/local': 'src/backends/local.ts', 'backends/s3': 'src/backends/s3.ts' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  plugins: [bundleCreateRequire, vendorPatches, cjsDynamicImports],
})
// One file, so that `list` does not pay Node's loader for a dozen chunks; its own copy of what it shares with
// the CLI (the bin loads one or the other, except when the fast path declines before doing anything).
const list = await build({
  ...common,
  entryPoints: { list: 'src/list-main.ts' },
  splitting: false,
  plugins: [listBundleOnly, bundleCreateRequire, vendorPatches, cjsDynamicImports],
})
const result = { metafile: { inputs: { ...main.metafile.inputs, ...list.metafile.inputs }, outputs: { ...main.metafile.outputs, ...list.metafile.outputs } } }

for (const entry of VENDOR_PATCHES) {
  if (!applied.has(entry)) throw new Error(`${entry.file} is no longer bundled; update VENDOR_PATCHES in scripts/build.mjs`)
}
const unbundled = new Map()
const leftOver = (name, file) => {
  const allowed = isBuiltin(name) || RUNTIME_RESOLVES.has(name) || isExternal(name)
  if (!allowed) unbundled.set(name, [...new Set([...(unbundled.get(name) ?? []), file])])
}
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  // esbuild lists what it left to run time (builtins, EXTERNAL, a require() it could not resolve)...
  for (const i of output.imports) if (i.external) leftOver(i.path, file)
  // ...but not require.resolve(), which only names a file.
  if (file.endsWith('.js')) for (const [, name] of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/require\.resolve\("([^"]+)"/g)) leftOver(name, file)
}
if (unbundled.size) {
  for (const [name, files] of unbundled) console.error(`build: "${name}" is left to run time in ${files.join(', ')}`)
  console.error('build: bundle it (a normal import or require of a string), or list it in EXTERNAL / RUNTIME_RESOLVES in scripts/build.mjs')
  process.exit(1)
}

for (const entry of VENDOR_PATCHES) if (entry.copy) cpSync(path.join(ROOT, entry.copy[0]), path.join(ROOT, entry.copy[1]), { recursive: true })
mkdirSync(path.join(ROOT, '.tmp'), { recursive: true })
writeFileSync(path.join(ROOT, '.tmp', 'build-meta.json'), JSON.stringify(result.metafile))
writeFileSync(path.join(DIST, 'THIRD-PARTY-NOTICES.txt'), notices(result.metafile))

/** Name, version, licence and licence text of every package with code in the bundle. */
function notices(metafile) {
  const dirs = new Set()
  for (const input of Object.keys(metafile.inputs)) {
    // (Inputs of a plugin's namespace, `cjs-interop:<path>`, are wrappers of files listed on their own.)
    const m = /^([^:]*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (m) dirs.add(m[1])
  }
  const parts = [...dirs].sort().map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'))
    const licenceFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'LICENCE', 'license', 'license.md', 'LICENSE-MIT', 'COPYING'].map((f) => path.join(ROOT, dir, f)).find((f) => existsSync(f))
    const text = licenceFile ? readFileSync(licenceFile, 'utf8').trim() : `(no licence file in the package; package.json says: ${pkg.license ?? 'nothing'})`
    return `${pkg.name}@${pkg.version} — ${pkg.license ?? 'UNKNOWN'}\n${'-'.repeat(72)}\n${text}\n`
  })
  return `stage-publish bundles the following packages (${parts.length}) into dist/.\n\n${parts.join('\n')}`
}
