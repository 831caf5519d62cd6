/**
 * What package.json changes mean for the people who install it: install scripts, dependencies,
 * `bin` and entry points (and entry points that point at nothing). Pure.
 */
import semver from 'semver'
import { DEPENDENCY_FIELDS } from '../dependency-fields.js'
import { normPath, obj, str, type Add, type DependencyChange, type DependencyField, type FileMap, type Manifest } from './findings.js'

/** Lifecycle scripts npm runs when someone installs the package (prepare ones for git installs). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'] as const
const ENTRY_FIELDS = ['main', 'module', 'types', 'typings', 'exports'] as const

function installScripts(m: Manifest, files: FileMap): Record<string, string> {
  const scripts = obj(m.scripts)
  const out: Record<string, string> = {}
  for (const s of INSTALL_SCRIPTS) {
    const cmd = str(scripts[s])
    if (cmd) out[s] = cmd
  }
  // npm runs `node-gyp rebuild` at install for a package with binding.gyp and no install script.
  if (!out.install && !out.preinstall && m.gypfile !== false && files.has('binding.gyp')) out.install = 'node-gyp rebuild'
  return out
}

export function bins(m: Manifest): Record<string, string> {
  const name = str(m.name) ?? ''
  if (typeof m.bin === 'string') return { [name.replace(/^@[^/]+\//, '')]: normPath(m.bin) }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(obj(m.bin))) if (typeof v === 'string') out[k] = normPath(v)
  return out
}

export function dependencyMap(m: Manifest, field: DependencyField): Record<string, string> {
  if (field !== 'bundleDependencies') {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(obj(m[field]))) if (typeof v === 'string') out[k] = v
    return out
  }
  const raw = m.bundleDependencies ?? m.bundledDependencies
  const names = raw === true ? Object.keys(obj(m.dependencies)) : Array.isArray(raw) ? raw.filter((n): n is string => typeof n === 'string') : []
  return Object.fromEntries(names.map((n) => [n, '']))
}

/** A spec npm resolves outside the registry (git, URL, file, GitHub shorthand, workspace:). */
function isNonRegistrySpec(spec: string): boolean {
  const s = spec.trim()
  if (s === '' || s.startsWith('npm:') || semver.validRange(s) !== null) return false
  return !/^[A-Za-z0-9][\w.-]*$/.test(s) // anything else that is not a dist-tag name
}

export function reviewManifest(sm: Manifest, pm: Manifest | undefined, now: FileMap, before: FileMap, add: Add): DependencyChange[] {
  const hasBaseline = pm !== undefined
  const scriptsNow = installScripts(sm, now)
  const scriptsBefore = pm ? installScripts(pm, before) : {}
  for (const script of INSTALL_SCRIPTS) {
    const to = scriptsNow[script]
    const from = scriptsBefore[script]
    if (to !== undefined && from === undefined) add('INSTALL_SCRIPT_ADDED', { script, command: to })
    else if (to !== undefined && from !== undefined && to !== from) add('INSTALL_SCRIPT_CHANGED', { script, from, to })
    else if (to === undefined && from !== undefined) add('INSTALL_SCRIPT_REMOVED', { script, from })
  }

  const changes: DependencyChange[] = []
  for (const field of DEPENDENCY_FIELDS) {
    const a = pm ? dependencyMap(pm, field) : {}
    const b = dependencyMap(sm, field)
    const bundle = field === 'bundleDependencies'
    for (const name of Object.keys(b).sort()) {
      const to = b[name] as string
      const from = a[name]
      if (from === undefined) changes.push({ field, name, ...(bundle ? {} : { to }), change: 'added' })
      else if (from !== to) changes.push({ field, name, from, to, change: 'changed' })
      else continue
      if (!bundle && isNonRegistrySpec(to)) add('DEPENDENCY_NON_REGISTRY', { field, name, spec: to })
      if (!hasBaseline) continue // a first release lists its dependencies, it does not flag each one
      if (from === undefined) add('DEPENDENCY_ADDED', { field, name, to: bundle ? undefined : to })
      else add('DEPENDENCY_CHANGED', { field, name, from, to })
    }
    for (const name of Object.keys(a).sort()) {
      if (name in b) continue
      const from = a[name] as string
      changes.push({ field, name, ...(bundle ? {} : { from }), change: 'removed' })
      add('DEPENDENCY_REMOVED', { field, name, from: bundle ? undefined : from })
    }
  }

  if (pm) {
    for (const field of ENTRY_FIELDS) {
      const from = pm[field] === undefined ? undefined : JSON.stringify(pm[field])
      const to = sm[field] === undefined ? undefined : JSON.stringify(sm[field])
      if (from !== to) add('ENTRY_POINT_CHANGED', { field, from, to })
    }
    const binBefore = bins(pm)
    const binNow = bins(sm)
    for (const name of [...new Set([...Object.keys(binBefore), ...Object.keys(binNow)])].sort()) {
      if (binBefore[name] !== binNow[name]) add('BIN_CHANGED', { name, from: binBefore[name], to: binNow[name] })
    }
  }
  for (const [field, path] of entryTargets(sm)) {
    if (!resolves(field, path, now)) add('ENTRY_POINT_MISSING', { field, path })
  }
  return changes
}

/** [field, path] for every file the manifest points at (wildcard exports patterns skipped). */
export function entryTargets(m: Manifest): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const field of ['main', 'module', 'types', 'typings'] as const) {
    const p = str(m[field])
    if (p) out.push([field, normPath(p)])
  }
  for (const [name, p] of Object.entries(bins(m))) out.push([`bin.${name}`, p])
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (v.startsWith('./') && !v.includes('*') && !v.endsWith('/')) out.push(['exports', normPath(v)])
    } else if (v && typeof v === 'object' && depth < 8) for (const x of Object.values(v)) walk(x, depth + 1)
  }
  walk(m.exports, 0)
  return out
}

/** `main` resolves the way require() does (extensions, then index files); the rest are exact. */
function resolves(field: string, path: string, files: FileMap): boolean {
  if (field !== 'main') return files.has(path)
  const base = path.replace(/\/$/, '')
  return ['', '.js', '.json', '.node', '/index.js', '/index.json', '/index.node'].some((ext) => files.has(base + ext))
}
