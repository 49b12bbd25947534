/**
 * docs/checks.md, generated from the rule registry (`npm run checks-doc`): one section per check (anchored by its
 * id, which SARIF helpUri points at), the coverage table against PSRule, CIS, Defender for Cloud (Azure Policy) and
 * azqr, and the two coverage percentages. A test keeps the file in step with the registry.
 */
import {CIS_CONTROLS, DEFENDER_INITIATIVE_POLICIES, PSRULE_GA_RULES} from './coverage.js'
import {ARG_TABLES_URL, ARM_BATCH_STATUS, DEFENDER_PLANS_SOURCE, FACT_SOURCES, LOCKS_SOURCE} from './reads.js'
import {CHECKS} from './rules/index.js'
import {SEVERITIES, type CheckRule} from './types.js'

const list = (items: string[] | undefined) => (items?.length ? items.join(', ') : '—')
/** Azure Policy ids, ‡ on those Defender for Cloud does not assign by default (see DEFENDER_INITIATIVE_POLICIES). */
export const defenderList = (items: string[] | undefined) => list(items?.map((id) => (DEFENDER_INITIATIVE_POLICIES.has(id) ? id : `${id}‡`)))

/** PSRule and CIS coverage: which listed rules/controls at least one check maps to. */
export function coverage(rules: CheckRule[] = CHECKS) {
  const psrule = new Set(rules.flatMap((r) => r.frameworks.psrule ?? []))
  const cis = new Set(rules.flatMap((r) => r.frameworks.cis ?? []))
  const psruleCovered = PSRULE_GA_RULES.filter((r) => psrule.has(r.id))
  const psruleNonNaming = PSRULE_GA_RULES.filter((r) => !r.naming)
  const cisCovered = CIS_CONTROLS.filter((c) => cis.has(c.id))
  return {
    psrule: {total: PSRULE_GA_RULES.length, covered: psruleCovered.length, nonNamingTotal: psruleNonNaming.length, nonNamingCovered: psruleNonNaming.filter((r) => psrule.has(r.id)).length, missing: PSRULE_GA_RULES.filter((r) => !psrule.has(r.id))},
    cis: {total: CIS_CONTROLS.length, covered: cisCovered.length, missing: CIS_CONTROLS.filter((c) => !cis.has(c.id))},
    // How many checks carry at least one id of each framework (there is no fixed list to measure these two against).
    defender: {
      checks: rules.filter((r) => r.frameworks.defender?.length).length,
      ids: new Set(rules.flatMap((r) => r.frameworks.defender ?? [])).size,
      initiativeChecks: rules.filter((r) => r.frameworks.defender?.some((id) => DEFENDER_INITIATIVE_POLICIES.has(id))).length,
    },
    azqr: {checks: rules.filter((r) => r.frameworks.azqr?.length).length, ids: new Set(rules.flatMap((r) => r.frameworks.azqr ?? [])).size},
  }
}

/** Id formats per framework; test/checks/doc.test.ts holds every rule to them. */
export const FRAMEWORK_ID_FORMATS: Record<'cis' | 'psrule' | 'defender' | 'azqr', RegExp> = {
  cis: /^F[36] \d+(\.\d+)+$/,
  psrule: /^Azure\.[A-Za-z]+(\.[A-Za-z0-9]+)+$/,
  /** First 8 hex digits of an Azure Policy built-in definition name (a GUID). */
  defender: /^[0-9a-f]{8}$/,
  /** azqr recommendation ids: service prefix, dash, three digits (e.g. st-009, psqlf-004). */
  azqr: /^[a-z]+-\d{3}$/,
}

/** `rule id: framework id` for every framework reference that does not have its framework's format, or is listed twice. */
export function malformedFrameworkIds(rules: CheckRule[] = CHECKS): string[] {
  const problems: string[] = []
  for (const rule of rules)
    for (const [framework, format] of Object.entries(FRAMEWORK_ID_FORMATS) as Array<[keyof typeof FRAMEWORK_ID_FORMATS, RegExp]>) {
      const ids = rule.frameworks[framework] ?? []
      for (const id of ids) if (!format.test(id)) problems.push(`${rule.id}: ${framework} ${JSON.stringify(id)}`)
      for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`${rule.id}: ${framework} ${id} listed twice`)
    }
  return problems
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)} %`

export function checksMarkdown(rules: CheckRule[] = CHECKS): string {
  const c = coverage(rules)
  const out: string[] = []
  out.push('# Security checks (`opsbook check`)', '', '<!-- Generated from src/checks/rules by `npm run checks-doc`; do not edit by hand. -->', '')
  out.push(
    `${rules.length} checks over PostgreSQL flexible servers, Azure Cache for Redis and Azure Managed Redis, App Service apps (every slot) and plans, Storage accounts, Key Vaults, Azure SQL servers and databases, Cosmos DB accounts, Service Bus namespaces and Traffic Manager profiles.`,
    'A check that cannot read its data is an **error**, never a pass; an unset property is judged as Azure\'s documented default for it (so an insecure default is a **fail**).',
    '',
    '## Severity rule',
    '',
    'Severities follow Defender for Cloud and PSRule: **high** when the setting directly exposes data or access — data in transit below TLS 1.2 or unencrypted, public network exposure, anonymous or key-based access, missing purge protection, Defender plans off, audit logs missing for Key Vault, end-of-life runtimes; **medium** for defence in depth and recoverability (private endpoints, Entra-only auth, soft delete, rotation, diagnostic settings, zone redundancy); **low** for hygiene (HTTP/2, tags, client certificates). PSRule "Critical" security rules map to high here (there is no critical tier yet). `--fail-on high` therefore stops TLS 1.0/1.1 anywhere.',
    '',
  )
  out.push('## Coverage', '')
  out.push(
    `- **PSRule for Azure, GA_2025_12 baseline**, rules for PostgreSQL, Redis, App Service, Storage, Key Vault and their Defender plans: **${c.psrule.covered} of ${c.psrule.total} (${pct(c.psrule.covered, c.psrule.total)})**; without the ${c.psrule.total - c.psrule.nonNamingTotal} naming-convention rules (which need an organisation's naming standard): ${c.psrule.nonNamingCovered} of ${c.psrule.nonNamingTotal} (${pct(c.psrule.nonNamingCovered, c.psrule.nonNamingTotal)}).`,
    `- **Defender for Cloud (Azure Policy built-ins)**: ${c.defender.checks} of ${rules.length} checks name at least one definition (${c.defender.ids} distinct), ${c.defender.initiativeChecks} of them one that Defender assigns through its Microsoft cloud security benchmark initiative (v1 or v2 preview; ‡ marks ids outside it); **azqr**: ${c.azqr.checks} of ${rules.length} checks name at least one recommendation (${c.azqr.ids} distinct). A check without an id has no counterpart that tests the same setting.`,
    `- **CIS Microsoft Azure Foundations** controls in those sections (list below, from Prowler's and Steampipe's mappings; † = control number not confirmed from them): **${c.cis.covered} of ${c.cis.total} (${pct(c.cis.covered, c.cis.total)})**. This is not the benchmark's full control list.`,
    '',
    `PSRule rules not covered: ${c.psrule.missing.map((r) => `\`${r.id}\``).join(', ') || 'none'}.`,
    '',
    `CIS controls not covered: ${c.cis.missing.map((x) => `${x.id}${x.unverified ? '†' : ''} (${x.title})`).join('; ') || 'none'}.`,
    '',
    '| check | severity | applies to | CIS | PSRule | Defender for Cloud (Azure Policy) | azqr |',
    '|---|---|---|---|---|---|---|',
  )
  for (const rule of rules)
    out.push(
      `| [${rule.id}](#${rule.id}) | ${rule.severity} | ${rule.resourceTypes.map((t) => t.split('/').slice(1).join('/')).join(', ') || 'catalog'} | ${list(rule.frameworks.cis)} | ${list(rule.frameworks.psrule)} | ${defenderList(rule.frameworks.defender)} | ${list(rule.frameworks.azqr)} |`,
    )
  out.push('', `Severity counts: ${SEVERITIES.map((s) => `${s} ${rules.filter((r) => r.severity === s).length}`).join(', ')}.`, '')
  out.push('## CIS controls in scope', '', '| control | title | checks |', '|---|---|---|')
  for (const control of CIS_CONTROLS)
    out.push(`| ${control.id}${control.unverified ? '†' : ''} | ${control.title} | ${rules.filter((r) => r.frameworks.cis?.includes(control.id)).map((r) => r.id).join(', ') || '—'} |`)
  out.push('', '## What a scan reads', '')
  out.push(
    `One paged Resource Graph query per table answers every resource row, App Service config/web, private endpoints and Defender plans; everything else is read per resource, because Resource Graph's table reference (${ARG_TABLES_URL}) lists none of those child or extension types. A read is skipped when the resource's Resource Graph row already decides every check that needs it (e.g. firewall rules of a server with public network access disabled). ${ARM_BATCH_STATUS}.`,
    '',
    'So a scan with every check makes about four per-resource requests per resource of a typical mix, more than one GET per resource; with only the checks Resource Graph answers it makes a handful of requests for thousands of resources. `bench/checks.ts` prints both, by fact (README, Benchmarks).',
    '',
    '| fact | read | per resource | checks | why no bulk read |',
    '|---|---|---|---|---|',
  )
  const factRows: Array<[string, (typeof FACT_SOURCES)[keyof typeof FACT_SOURCES]]> = [...Object.entries(FACT_SOURCES), ['locks', LOCKS_SOURCE], ['defenderPlans', DEFENDER_PLANS_SOURCE]]
  for (const [fact, source] of factRows) {
    const checks = rules.filter((r) => (r.facts as string[] | undefined)?.includes(fact)).map((r) => r.id)
    const cell = (text: string | undefined) => (text ?? '—').replace(/\|/g, '\\|')
    out.push(`| ${fact} | ${cell(source.read)} | ${source.source === 'per-resource' ? (fact === 'locks' ? 'no (one per subscription)' : 'yes') : 'no'} | ${checks.join(', ') || (fact === 'locks' ? 'gov.lock.critical' : fact === 'defenderPlans' ? 'Defender plan checks' : '—')} | ${cell(source.why)} |`)
  }
  out.push('', '## Emulator scenarios', '')
  out.push(
    'The emulator serves exactly the catalog\'s `cloud: emulator` environment, every unset setting at Azure\'s documented default, plus `opsbook.estate.yaml` beside the catalog (firewall rules, network access, TLS, diagnostic settings, locks, keys, Defender plans…; see `src/emulator/estate.ts`).',
    '`opsbook emulator start --scenario insecure` replaces the file with a built-in estate in which every check fails at least once: TLS 1.0 and plain ports everywhere, public access with allow-all firewalls (that still block trusted Microsoft services), shared keys and access policies, no soft delete, versioning, purge protection, locks, diagnostic settings, private endpoints or Entra authentication, end-of-life runtimes, a Basic Redis on version 4, LRS storage, a one-instance Basic plan, SQL servers accepting every TLS version and SQL logins with locally-redundant database backups, Service Bus with SAS keys on, Defender plans Free. Production-only checks (st.replication, st.geo_replication, redis.zones, app.plan.*, sql.backup.redundancy) fail when the environment is `production: true`; catalog checks (backup retention, geo backup, maintenance windows, health path, tags) fail where the catalog sets the expectation. `--scenario compliant` is the opposite: every check passes or is not applicable (test/checks/scenarios.test.ts runs both).',
    '',
  )
  out.push('## Checks', '')
  for (const rule of rules) {
    out.push(`<a id="${rule.id}"></a>`, '', `### ${rule.id}`, '', `${rule.title}. **${rule.severity}**.`, '')
    out.push(`- Reads: ${rule.reads.map((r) => `\`${r}\``).join(', ')}`)
    out.push(`- Fix: ${rule.remediation.text} \`${rule.remediation.az}\``)
    const refs = [
      rule.frameworks.cis?.length ? `CIS ${rule.frameworks.cis.join(', ')}` : '',
      rule.frameworks.mcsb?.length ? `MCSB ${rule.frameworks.mcsb.join(', ')}` : '',
      rule.frameworks.psrule?.length ? `PSRule ${rule.frameworks.psrule.join(', ')}` : '',
      rule.frameworks.defender?.length ? `Azure Policy ${defenderList(rule.frameworks.defender)}` : '',
      rule.frameworks.azqr?.length ? `azqr ${rule.frameworks.azqr.join(', ')}` : '',
    ].filter(Boolean)
    if (refs.length) out.push(`- References: ${refs.join('; ')}`)
    out.push('')
  }
  return out.join('\n')
}
