/** What `list` does once its command line is parsed: shared by the commander command (./list.ts) and the fast path (src/list-main.ts). */
import type { Deps } from '../flows/context.js'
import type { ListRequest } from '../flows/list.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface ListOptions extends CommonOptions, ListRequest {}

/** `--limit <n>`'s value: a whole number (0: no limit), or undefined when it is not one. */
export const parseListLimit = (value: string): number | undefined => (/^\d{1,9}$/.test(value) ? Number(value) : undefined)

export async function runList(packageName: string | undefined, opts: ListOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { listReleases } = await import('../flows/list.js')
  const { listJson, renderListFooter, renderListResult, renderUnlistedClaim } = await import('../ui/render-list.js')
  const result = await listReleases(packageName, requestOf(opts), deps, out)
  if (out.json) {
    out.data(listJson(result))
    return
  }
  for (const claim of result.unlisted) out.warn(renderUnlistedClaim(claim))
  out.line(renderListResult(result, out.style))
  const footer = renderListFooter(result, out.style)
  if (footer) out.notice(footer)
}
