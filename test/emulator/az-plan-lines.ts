/**
 * The `az` commands inside the lines `plan` prints for every built-in runbook (local environment), split the way a
 * POSIX shell would: quotes, `$(…)` substitutions (`curl "https://$(az webapp show …)/health"`, `SAS=$(az …)`),
 * `&&`/`||`/`;`/`|` lists, and commands named in a trailing comment (`# or, when …: az …`). A line marked
 * `# needs az newer than X` keeps its first command out (Debian's az cannot parse it; the test proves that) and
 * checks the older equivalent the marker names.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {buildPlan} from '../../src/runbooks/plan.js'
import {prepareRun} from '../../src/runbooks/runner.js'
import {repoRoot} from '../helpers/cli.js'

/** Params the built-in runbooks need beyond their defaults, for the repository's `local` environment. */
export const BUILT_IN_RUNBOOK_PARAMS: Record<string, Record<string, string>> = {
  'pg-pitr': {server: 'orders-db', restoreTime: '2026-12-01T09:40:00Z'},
  'pg-promote-replica': {replica: 'pg-shop-orders-dr'},
  'redis-export': {cache: 'sessions-cache'},
  'redis-restore': {cache: 'sessions-cache'},
  'slot-swap': {app: 'storefront'},
  'sql-pitr': {database: 'payments-db', restoreTime: '2026-12-01T09:40:00Z'},
  'sql-failover': {database: 'payments-db', forceDataLoss: 'true'},
  'servicebus-dlq': {namespace: 'orders-bus'},
  'cosmos-pitr': {account: 'catalog-cosmos', restoreTime: '2026-12-01T09:40:00Z'},
  'region-failover': {router: 'storefront-dns'},
}

export const NEWER_AZ_MARKER = /#\s*needs az newer than ([\d.]+)/

export interface PlanAzCommand {
  runbook: string
  /** argv after `az`. */
  command: string[]
  /** The plan line it came from. */
  line: string
  /** True for the first command of a line marked as needing a newer az than Debian's. */
  needsNewerAz: boolean
}

export async function planAzCommands(): Promise<PlanAzCommand[]> {
  const library = join(repoRoot, 'src', 'runbooks', 'library')
  const out: PlanAzCommand[] = []
  for (const file of readdirSync(library).filter((f) => f.endsWith('.yaml')).sort()) {
    const runbook = file.replace(/\.yaml$/, '')
    const plan = buildPlan(await prepareRun({runbook, envName: 'local', params: BUILT_IN_RUNBOOK_PARAMS[runbook] ?? {}, cwd: repoRoot, env: {}}))
    const lines = plan.steps.flatMap((s) => [...s.az, ...(s.rollback?.az ?? [])])
    for (const line of new Set(lines)) {
      const marked = NEWER_AZ_MARKER.test(line)
      azCommandsOf(line).forEach((command, index) => out.push({runbook, command, line, needsNewerAz: marked && index === 0}))
    }
  }
  return out
}

/** Every `az …` simple command in a shell line, as argv after `az`. */
export function azCommandsOf(line: string): string[][] {
  return shellCommands(line)
    .filter((argv) => argv[0] === 'az')
    .map((argv) => argv.slice(1))
}

/** Simple commands of a shell line (argv each), including those inside `$(…)` and named in a trailing comment. */
function shellCommands(text: string): string[][] {
  const commands: string[][] = []
  let argv: string[] = []
  let word: string | undefined
  let i = 0
  const endWord = () => {
    if (word !== undefined) argv.push(word)
    word = undefined
  }
  const endCommand = () => {
    endWord()
    if (argv.length) commands.push(argv)
    argv = []
  }
  /** `$(…)` starting at text[i] === '$': its inner commands are collected, the word gets a stand-in. */
  const substitution = () => {
    let depth = 0
    let j = i + 1
    let quote: string | undefined
    for (; j < text.length; j++) {
      const c = text[j]!
      if (quote) {
        if (c === '\\' && quote === '"') j++
        else if (c === quote) quote = undefined
      } else if (c === '"' || c === "'") quote = c
      else if (c === '(') depth++
      else if (c === ')' && --depth === 0) break
    }
    commands.push(...shellCommands(text.slice(i + 2, j)))
    word = `${word ?? ''}SUBSTITUTION`
    i = j + 1
  }
  while (i < text.length) {
    const c = text[i]!
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      word = `${word ?? ''}${text.slice(i + 1, end)}`
      i = end + 1
    } else if (c === '"') {
      i++
      word ??= ''
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) {
          word += text[i + 1]
          i += 2
        } else if (text[i] === '$' && text[i + 1] === '(') substitution()
        else word += text[i++]
      }
      i++
    } else if (c === '$' && text[i + 1] === '(') substitution()
    else if (c === '#' && word === undefined) {
      // A comment: a command it names after a colon (`# or, when …: az …`) is checked too.
      endCommand()
      const named = /:\s+(az\s.*)$/.exec(text.slice(i + 1))
      if (named) commands.push(...shellCommands(named[1]!))
      return commands
    } else if (/\s/.test(c)) {
      endWord()
      i++
    } else if (c === ';' || c === '|' || c === '&') {
      endCommand()
      i += text[i + 1] === c ? 2 : 1
    } else {
      word = `${word ?? ''}${c}`
      i++
    }
  }
  endCommand()
  return commands
}
