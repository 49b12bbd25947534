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

/**
 * A restore point two days back (whole minutes): inside every retention window, whenever the suite runs — a fixed date
 * drifts out of the 35 days a PostgreSQL flexible server keeps, and plan refuses it (postgres.assertRestorable).
 */
const RECENT_POINT = new Date(Math.floor((Date.now() - 2 * 86_400_000) / 60_000) * 60_000).toISOString().replace('.000Z', 'Z')

/** Params the built-in runbooks need beyond their defaults, for the repository's `local` environment. */
export const BUILT_IN_RUNBOOK_PARAMS: Record<string, Record<string, string>> = {
  'pg-pitr': {server: 'orders-db', restoreTime: RECENT_POINT},
  'pg-promote-replica': {replica: 'pg-shop-orders-dr'},
  'redis-export': {cache: 'sessions-cache'},
  'redis-restore': {cache: 'sessions-cache'},
  'slot-swap': {app: 'storefront'},
  'sql-pitr': {database: 'payments-db', restoreTime: RECENT_POINT},
  'sql-failover': {database: 'payments-db', forceDataLoss: 'true'},
  'servicebus-dlq': {namespace: 'orders-bus'},
  'cosmos-pitr': {account: 'catalog-cosmos', restoreTime: RECENT_POINT},
  'region-failover': {router: 'storefront-dns'},
}

export const NEWER_AZ_MARKER = /#\s*needs az newer than ([\d.]+)/

/**
 * Why Debian's az 2.45 cannot take a marked line, by command group: how its failure reads (stderr) and the reason the
 * suite records for skipping it. A marked line that fails any other way (a wrong flag, say) is a finding, not a skip.
 */
export const AZ_245_KNOWN_FAILURES: Array<{group: string[]; stderr: RegExp; reason: string}> = [
  {
    group: ['network', 'traffic-manager'],
    stderr: /'NoneType' object has no attribute 'standard_medium'/,
    // Reproduced with /usr/bin/az 2.45.0-1: every `az network …` command of the (non-aaz) network module fails in
    // load_arguments (_params.py: ApplicationGatewaySkuName.standard_medium). az 2.45's profile asks for
    // Microsoft.Network 2022-01-01 models, and Debian's python3-azure ships azure-mgmt-network 23.0.0b1 without a
    // v2022_01_01 package, so get_models returns None. A known packaging bug: Azure/azure-cli#26830 (same trace from
    // /usr/lib/python3/dist-packages; the maintainers: "indicates that you're not using the official version"), also
    // #26215. `az afd` (the cdn module) is unaffected and is run for real above.
    reason:
      "Debian's az 2.45 crashes loading the network module (AttributeError: 'NoneType' object has no attribute 'standard_medium'; its azure-mgmt-network 23.0.0b1 lacks the 2022-01-01 models az 2.45 asks for; Azure/azure-cli#26830)",
  },
  {
    group: ['postgres', 'flexible-server', 'replica', 'promote'],
    stderr: /'promote' is misspelled or not recognized by the system/,
    // az 2.45's `postgres flexible-server replica` group has create, list and stop-replication only (its --help);
    // newer az replaced stop-replication with `replica promote` (--promote-mode, --promote-option).
    reason: "az 2.45's replica group has no promote command (only create, list, stop-replication)",
  },
  {
    group: ['redisenterprise'],
    stderr: /'redisenterprise' is misspelled or not recognized by the system/,
    // The command group is the redisenterprise extension's (Azure/azure-cli-extensions src/redisenterprise); the
    // extension asks for azure-cli-core 2.70.0 or newer (azext_metadata.json) and the suite runs offline.
    reason: "the redisenterprise command group is an az extension, which needs azure-cli-core 2.70.0 or newer and cannot be added offline",
  },
]

/** The known az 2.45 failure a command falls under, if any. */
export function knownAz245Failure(command: string[]): (typeof AZ_245_KNOWN_FAILURES)[number] | undefined {
  return AZ_245_KNOWN_FAILURES.find((known) => known.group.every((word, i) => command[i] === word))
}

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
