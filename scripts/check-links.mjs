#!/usr/bin/env node
// Checks the links between the project's Markdown files (README.md, CONTRIBUTING.md, docs/): every relative
// link must name a file that exists and, with a #fragment, a heading of that file. Part of `npm run lint`, so
// moving a section cannot leave a dead link behind. Links to other sites are not fetched.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The Markdown files checked, relative to the repository root. */
function markdownFiles() {
  const files = ['README.md', 'CONTRIBUTING.md'].filter((f) => existsSync(path.join(root, f)))
  const docs = path.join(root, 'docs')
  if (existsSync(docs)) {
    for (const name of readdirSync(docs, { recursive: true })) {
      if (String(name).endsWith('.md')) files.push(path.join('docs', String(name)))
    }
  }
  return files.sort()
}

/**
 * The lines of a Markdown text outside fenced code blocks, with their line numbers: a `#` or `](` inside
 * a code block is code, not a heading or a link.
 */
function proseLines(text) {
  const out = []
  let fence = null
  text.split('\n').forEach((line, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (fence === null && m) fence = m[1]
    else if (fence !== null && m && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = null
    else if (fence === null) out.push({ line, number: i + 1 })
  })
  return out
}

/**
 * GitHub's anchor for a heading: its text (code spans, links and emphasis reduced to their text),
 * lower-cased, punctuation dropped except '-' and '_', each space a '-'; a repeated anchor gets -1, -2, ...
 */
function anchorsOf(text) {
  const seen = new Map()
  const anchors = new Set()
  for (const { line } of proseLines(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const plain = m[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*]/g, '')
    const base = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** Inline links `[text](target)` and reference definitions `[name]: target`, outside code. */
function linksOf(text) {
  const links = []
  for (const { line, number } of proseLines(text)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, '')
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: m[1], line: number })
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose)
    if (def) links.push({ target: def[1], line: number })
  }
  return links
}

const anchorCache = new Map()
function anchorsOfFile(file) {
  if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, 'utf8')))
  return anchorCache.get(file)
}

const problems = []
const files = markdownFiles()
for (const rel of files) {
  const abs = path.join(root, rel)
  for (const { target, line } of linksOf(readFileSync(abs, 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto: ...
    const hash = target.indexOf('#')
    const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash))
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1))
    const dest = filePart === '' ? abs : path.resolve(path.dirname(abs), filePart)
    const where = `${rel}:${line}: ${target}`
    if (!dest.startsWith(root + path.sep) && dest !== root) {
      problems.push(`${where}: points outside the repository`)
      continue
    }
    if (!existsSync(dest)) {
      problems.push(`${where}: ${path.relative(root, dest)} does not exist`)
      continue
    }
    if (anchor === null || anchor === '') continue
    if (!dest.endsWith('.md') || !statSync(dest).isFile()) {
      problems.push(`${where}: an anchor into a file that is not Markdown`)
      continue
    }
    if (!anchorsOfFile(dest).has(anchor)) problems.push(`${where}: no heading with the anchor #${anchor} in ${path.relative(root, dest)}`)
  }
}

if (problems.length > 0) {
  console.error(`check-links: ${problems.length} broken link${problems.length === 1 ? '' : 's'}:`)
  for (const p of problems) console.error(`  ${p}`)
  process.exitCode = 1
} else {
  console.log(`check-links: ${files.length} Markdown files, every relative link and anchor resolves`)
}
