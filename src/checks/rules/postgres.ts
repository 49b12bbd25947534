/**
 * PostgreSQL flexible server checks. Server parameters and firewall rules are not in Resource Graph, so those
 * rules read facts collected by one `configurations` and one `firewallRules` list per server.
 */
import type {PostgresComponent} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule, type InventoryResource} from '../types.js'
import {atLeastTls12, describeSetting, fail, MissingData, needFact, notApplicable, pass, pgParameter, read, readOrDefault} from './helpers.js'
import {firewallSummary, judgeFirewall, MAX_FIREWALL_RULES, MAX_PUBLIC_ADDRESSES} from './network.js'
import {windowStartUtc} from './window-utc.js'

const PG = [RESOURCE_TYPES.postgres]
const AZ = 'az postgres flexible-server'

function parameterRule(options: {
  id: string
  title: string
  severity: CheckRule['severity']
  parameters: string[]
  want: string
  cis?: string[]
  mcsb?: string[]
  psrule?: string[]
  defender?: string[]
}): CheckRule {
  return {
    id: options.id,
    title: options.title,
    severity: options.severity,
    resourceTypes: PG,
    reads: options.parameters.map((p) => `configurations/${p}.value`),
    facts: ['pgConfigurations'],
    evaluate(_resource, facts) {
      const values = options.parameters.map((p) => [p, pgParameter(facts, p)] as const)
      const wrong = values.filter(([, v]) => v !== options.want)
      const found = values.map(([p, v]) => `${p} is ${v}`).join(', ')
      return wrong.length === 0 ? pass(found) : fail(found)
    },
    remediation: {
      text: `Set ${options.parameters.join(' and ')} to ${options.want}.`,
      az: options.parameters
        .map((p) => `${AZ} parameter set --resource-group <rg> --server-name <name> --name ${p} --value ${options.want}`)
        .join(' && '),
    },
    frameworks: {cis: options.cis, mcsb: options.mcsb, psrule: options.psrule, defender: options.defender},
  }
}

function postgresComponent(context: Parameters<CheckRule['evaluate']>[2]): PostgresComponent | undefined {
  return context.component?.spec.type === 'postgres' ? context.component.spec : undefined
}

/**
 * Whether the server accepts connections over its public endpoint. Firewall rules only govern public access
 * ("Networking with public access" for flexible servers); with `network.publicNetworkAccess` Disabled (private
 * access or private endpoints only) they admit no one, so the firewall checks decide from the row and skip the read.
 * Unset is Enabled (postgresql.json Network.publicNetworkAccess).
 */
function publicAccessOn(resource: InventoryResource): boolean {
  return String(readOrDefault(resource, 'properties.network.publicNetworkAccess', 'Enabled').value).toLowerCase() !== 'disabled'
}
const PRIVATE_ONLY = 'public network access is disabled: firewall rules admit no one'

export const postgresRules: CheckRule[] = [
  parameterRule({
    id: 'pg.tls.enforced',
    title: 'PostgreSQL requires TLS for every connection',
    severity: 'high',
    parameters: ['require_secure_transport'],
    want: 'on',
    cis: ['F3 5.2.1'],
    mcsb: ['DP-3'],
    psrule: ['Azure.PostgreSQL.UseSSL'],
    defender: ['c29c38cb'],
  }),
  {
    id: 'pg.tls.min12',
    title: 'PostgreSQL accepts TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: PG,
    reads: ['configurations/ssl_min_protocol_version.value'],
    facts: ['pgConfigurations'],
    evaluate(_r, facts) {
      const value = pgParameter(facts, 'ssl_min_protocol_version')
      return atLeastTls12(value, 'ssl_min_protocol_version') ? pass(`ssl_min_protocol_version is ${value}`) : fail(`ssl_min_protocol_version is ${value}`)
    },
    remediation: {
      text: 'Set ssl_min_protocol_version to TLSv1.2 (or TLSv1.3).',
      az: `${AZ} parameter set --resource-group <rg> --server-name <name> --name ssl_min_protocol_version --value TLSv1.2`,
    },
    frameworks: {mcsb: ['DP-3'], psrule: ['Azure.PostgreSQL.MinTLS'], defender: ['a43d5475']},
  },
  {
    id: 'pg.net.public_disabled',
    title: 'PostgreSQL public network access is disabled',
    severity: 'high',
    resourceTypes: PG,
    reads: ['properties.network.publicNetworkAccess'],
    evaluate(resource) {
      const value = String(read(resource, 'properties.network.publicNetworkAccess'))
      return value.toLowerCase() === 'disabled' ? pass('publicNetworkAccess is Disabled') : fail(`publicNetworkAccess is ${value}`)
    },
    remediation: {
      text: 'Disable public network access and reach the server through a private endpoint or VNet integration.',
      az: `${AZ} update --resource-group <rg> --name <name> --public-access Disabled`,
    },
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20'], defender: ['5e1de0e3'], azqr: ['psqlf-004']},
  },
  {
    id: 'pg.fw.no_azure_wide',
    title: 'PostgreSQL firewall does not allow all Azure services or the whole internet',
    severity: 'high',
    resourceTypes: PG,
    reads: ['firewallRules[*].properties.startIpAddress', 'firewallRules[*].properties.endIpAddress'],
    facts: ['pgFirewallRules'],
    needsFacts: publicAccessOn,
    evaluate(resource, facts) {
      if (!publicAccessOn(resource)) return pass(PRIVATE_ONLY)
      const rules = needFact(facts, 'pgFirewallRules') as Array<{name: string; startIpAddress?: string; endIpAddress?: string}>
      const wide = rules.filter(
        (r) =>
          (r.startIpAddress === '0.0.0.0' && r.endIpAddress === '0.0.0.0') ||
          (r.startIpAddress === '0.0.0.0' && r.endIpAddress === '255.255.255.255'),
      )
      if (rules.some((r) => !r.startIpAddress || !r.endIpAddress)) throw new MissingData('a firewall rule has no start or end address')
      return wide.length === 0
        ? pass(`${rules.length} firewall rule(s), none open to all Azure services or the internet`)
        : fail(`firewall rule(s) ${wide.map((r) => `${r.name} (${r.startIpAddress}–${r.endIpAddress})`).join(', ')} open the server widely`)
    },
    remediation: {
      text: 'Delete the 0.0.0.0 "allow Azure services" rule and any 0.0.0.0–255.255.255.255 rule; allow specific ranges or use private access.',
      az: `${AZ} firewall-rule delete --resource-group <rg> --name <name> --rule-name <rule> --yes`,
    },
    frameworks: {cis: ['F3 5.2.5'], mcsb: ['NS-2'], soc2: ['CC6.6'], psrule: ['Azure.PostgreSQL.AllowAzureAccess']},
  },
  {
    id: 'pg.fw.narrow',
    title: `PostgreSQL firewall admits few addresses (at most ${MAX_FIREWALL_RULES} rules and ${MAX_PUBLIC_ADDRESSES} public addresses in all)`,
    severity: 'high',
    resourceTypes: PG,
    reads: ['firewallRules[*].properties.startIpAddress', 'firewallRules[*].properties.endIpAddress'],
    facts: ['pgFirewallRules'],
    needsFacts: publicAccessOn,
    evaluate(resource, facts) {
      if (!publicAccessOn(resource)) return pass(PRIVATE_ONLY)
      const rules = (needFact(facts, 'pgFirewallRules') as Array<{name: string; startIpAddress?: string; endIpAddress?: string}>).map((r) => ({name: r.name, start: r.startIpAddress, end: r.endIpAddress}))
      // PSRule's FirewallRuleCount and FirewallIPRange (network.ts); the 0.0.0.0 Azure-services marker is left out of
      // the address count and judged by pg.fw.no_azure_wide.
      const verdict = judgeFirewall(firewallSummary(rules))
      return verdict.ok ? pass(verdict.text) : fail(verdict.text)
    },
    remediation: {text: 'Replace wide rules with the specific client addresses and drop unused rules (or use private access).', az: `${AZ} firewall-rule update --resource-group <rg> --name <name> --rule-name <rule> --start-ip-address <ip> --end-ip-address <ip>`},
    frameworks: {mcsb: ['NS-2'], psrule: ['Azure.PostgreSQL.FirewallIPRange', 'Azure.PostgreSQL.FirewallRuleCount']},
  },
  {
    id: 'pg.auth.entra',
    title: 'PostgreSQL Microsoft Entra authentication is enabled',
    severity: 'medium',
    resourceTypes: PG,
    reads: ['properties.authConfig.activeDirectoryAuth', 'administrators[*].properties.principalName'],
    facts: ['pgAdministrators'],
    // The administrators matter only once Entra authentication is on (otherwise the check fails from the row).
    needsFacts: (resource) => String(readOrDefault(resource, 'properties.authConfig.activeDirectoryAuth', 'Disabled').value).toLowerCase() === 'enabled',
    evaluate(resource, facts) {
      // postgresql.json AuthConfig.activeDirectoryAuth: unset is Disabled (password authentication only).
      const setting = readOrDefault(resource, 'properties.authConfig.activeDirectoryAuth', 'Disabled')
      if (String(setting.value).toLowerCase() !== 'enabled') return fail(describeSetting('activeDirectoryAuth', setting))
      const admins = needFact(facts, 'pgAdministrators') as Array<{principalName?: string; principalType?: string}>
      if (admins.length === 0) return fail('activeDirectoryAuth is Enabled but the server has no Microsoft Entra administrator')
      // PSRule Azure.PostgreSQL.AAD (rules/Azure.PostgreSQL.Rule.ps1, PostgreSQLFlexibleServerAAD): every administrator
      // names its principal (principalName, principalType); one without is not a usable Entra administrator.
      const incomplete = admins.filter((a) => !a.principalName || !a.principalType)
      return incomplete.length === 0
        ? pass(`activeDirectoryAuth is Enabled, Entra administrator(s) ${admins.map((a) => a.principalName).join(', ')}`)
        : fail(`activeDirectoryAuth is Enabled but ${incomplete.length} of ${admins.length} Entra administrator(s) name no principal (principalName and principalType)`)
    },
    remediation: {
      text: 'Enable Microsoft Entra authentication and add an Entra administrator.',
      az: `${AZ} update --resource-group <rg> --name <name> --microsoft-entra-auth Enabled && ${AZ} microsoft-entra-admin create --resource-group <rg> --server-name <name> --display-name <group> --object-id <id>`,
    },
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1'], iso27001: ['A.5.16'], psrule: ['Azure.PostgreSQL.AAD'], defender: ['ce39a96d']},
  },
  {
    id: 'pg.auth.password_off',
    title: 'PostgreSQL password authentication is disabled (Microsoft Entra only)',
    severity: 'medium',
    resourceTypes: PG,
    reads: ['properties.authConfig.passwordAuth', 'properties.authConfig.activeDirectoryAuth'],
    evaluate(resource) {
      // postgresql.json AuthConfig.passwordAuth: unset is Enabled; activeDirectoryAuth: unset is Disabled. Entra-only
      // means both (PSRule Azure.PostgreSQL.AADOnly, rules/Azure.PostgreSQL.Rule.yaml: allOf activeDirectoryAuth
      // Enabled and passwordAuth Disabled): password off with Entra off is no Entra-only server.
      const password = readOrDefault(resource, 'properties.authConfig.passwordAuth', 'Enabled')
      const entra = readOrDefault(resource, 'properties.authConfig.activeDirectoryAuth', 'Disabled')
      const text = `${describeSetting('passwordAuth', password)}, ${describeSetting('activeDirectoryAuth', entra)}`
      return String(password.value).toLowerCase() === 'disabled' && String(entra.value).toLowerCase() === 'enabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable password authentication once every client signs in with Microsoft Entra.', az: `${AZ} update --resource-group <rg> --name <name> --password-auth Disabled`},
    frameworks: {mcsb: ['IM-1'], psrule: ['Azure.PostgreSQL.AADOnly'], defender: ['fa498b91']},
  },
  parameterRule({id: 'pg.log.checkpoints', title: 'PostgreSQL logs checkpoints', severity: 'low', parameters: ['log_checkpoints'], want: 'on', cis: ['F3 5.2.2'], mcsb: ['LT-3'], defender: ['70be9e12']}),
  parameterRule({
    id: 'pg.log.connections',
    title: 'PostgreSQL logs connections and disconnections',
    severity: 'medium',
    parameters: ['log_connections', 'log_disconnections'],
    want: 'on',
    cis: ['F3 5.2.6', 'F3 5.2.7'],
    mcsb: ['LT-3'],
    defender: ['086709ac', '1d14b021'],
  }),
  {
    id: 'pg.log.retention',
    title: 'PostgreSQL keeps server logs for more than 3 days',
    severity: 'medium',
    resourceTypes: PG,
    reads: ['configurations/logfiles.retention_days.value'],
    facts: ['pgConfigurations'],
    evaluate(_r, facts) {
      const raw = pgParameter(facts, 'logfiles.retention_days')
      const days = Number(raw)
      if (!Number.isFinite(days)) throw new MissingData(`logfiles.retention_days is '${raw}', not a number`)
      return days > 3 ? pass(`logfiles.retention_days is ${days}`) : fail(`logfiles.retention_days is ${days} (needs more than 3)`)
    },
    remediation: {
      text: 'Keep server logs for at least 4 days.',
      az: `${AZ} parameter set --resource-group <rg> --server-name <name> --name logfiles.retention_days --value 7`,
    },
    frameworks: {cis: ['F3 5.2.4'], mcsb: ['LT-6']},
  },
  {
    id: 'pg.conn_throttle',
    title: 'PostgreSQL connection throttling is on',
    severity: 'medium',
    resourceTypes: PG,
    reads: ['configurations/connection_throttle.enable.value'],
    facts: ['pgConfigurations'],
    evaluate(_resource, facts) {
      // Every major version Azure serves has connection_throttle.enable (default off): "Server parameters in Azure
      // Database for PostgreSQL flexible server", customized options table for PostgreSQL 11–17
      // (learn.microsoft.com/azure/postgresql/flexible-server/server-parameters-table-customized-options). A server
      // that does not list it is an error (unknown), never not-applicable.
      const value = pgParameter(facts, 'connection_throttle.enable')
      return value === 'on' ? pass('connection_throttle.enable is on') : fail(`connection_throttle.enable is ${value}`)
    },
    remediation: {
      text: 'Turn connection throttling on.',
      az: `${AZ} parameter set --resource-group <rg> --server-name <name> --name connection_throttle.enable --value on`,
    },
    frameworks: {cis: ['F3 5.2.3']},
  },
  {
    id: 'pg.backup.retention',
    title: 'PostgreSQL keeps backups at least as long as the catalog requires',
    severity: 'high',
    resourceTypes: PG,
    reads: ['properties.backup.backupRetentionDays'],
    evaluate(resource, _f, context) {
      const component = postgresComponent(context)
      if (!component) return notApplicable('not a catalog component, so no required retention')
      const days = Number(read(resource, 'properties.backup.backupRetentionDays'))
      const want = component.backupRetentionDays
      return days >= want
        ? pass(`backupRetentionDays is ${days} (catalog requires ${want})`)
        : fail(`backupRetentionDays is ${days}, catalog requires at least ${want}`)
    },
    remediation: {
      text: "Raise backup retention to the component's backupRetentionDays.",
      az: `${AZ} update --resource-group <rg> --name <name> --backup-retention <days>`,
    },
    frameworks: {mcsb: ['BR-1'], soc2: ['A1.2'], iso27001: ['A.8.13']},
  },
  {
    id: 'pg.backup.geo',
    title: 'PostgreSQL backups are geo-redundant where the catalog expects cross-region recovery',
    severity: 'high',
    resourceTypes: PG,
    reads: ['properties.backup.geoRedundantBackup'],
    evaluate(resource, _f, context) {
      const component = postgresComponent(context)
      if (!component) return notApplicable('not a catalog component, so no cross-region expectation')
      const expected = component.geoRedundantBackup || component.objectives?.crossRegion === true
      if (!expected) return notApplicable('the catalog does not expect cross-region recovery for this server')
      const value = String(read(resource, 'properties.backup.geoRedundantBackup'))
      return value.toLowerCase() === 'enabled'
        ? pass('geoRedundantBackup is Enabled')
        : fail(`geoRedundantBackup is ${value}; the catalog expects cross-region recovery`)
    },
    remediation: {
      text: 'Geo-redundant backup can only be chosen at creation: restore or recreate the server with it enabled.',
      az: `${AZ} restore --resource-group <rg> --name <new-name> --source-server <name> --geo-redundant-backup Enabled`,
    },
    frameworks: {mcsb: ['BR-2'], soc2: ['A1.2'], iso27001: ['A.8.14'], psrule: ['Azure.PostgreSQL.GeoRedundantBackup'], defender: ['cee2f9fd']},
  },
  {
    id: 'pg.ha.enabled',
    title: 'PostgreSQL high availability is zone-redundant in production (or as the catalog says)',
    severity: 'high',
    resourceTypes: PG,
    reads: ['properties.highAvailability.mode'],
    evaluate(resource, _f, context) {
      const component = postgresComponent(context)
      const wanted = component && component.highAvailability !== 'Disabled' ? component.highAvailability : undefined
      if (!context.environment.production && !wanted)
        return notApplicable('not a production environment and the catalog does not ask for high availability')
      const mode = String(read(resource, 'properties.highAvailability.mode'))
      if (mode.toLowerCase() === 'disabled') return fail(`highAvailability.mode is Disabled${wanted ? `; the catalog asks for ${wanted}` : ' in production'}`)
      if (wanted && mode.toLowerCase() !== wanted.toLowerCase()) return fail(`highAvailability.mode is ${mode}; the catalog asks for ${wanted}`)
      // Production without a catalog wish: zone-redundant, as PSRule Azure.PostgreSQL.ZoneRedundantHA reads it
      // (rules/Azure.PostgreSQL.Rule.ps1: `HasFieldValue(…, 'properties.highAvailability.mode', 'ZoneRedundant')` where
      // the region has zones) — SameZone keeps primary and standby in one zone. In a region without zones the catalog
      // says SameZone (then this passes above).
      if (!wanted && mode.toLowerCase() !== 'zoneredundant')
        return fail(`highAvailability.mode is ${mode}: primary and standby share a zone (set the catalog's highAvailability to SameZone where the region has no zones)`)
      return pass(`highAvailability.mode is ${mode}`)
    },
    remediation: {
      text: 'Enable zone-redundant (or same-zone) high availability.',
      az: `${AZ} update --resource-group <rg> --name <name> --high-availability ZoneRedundant`,
    },
    frameworks: {mcsb: ['BR-1'], soc2: ['A1.2'], iso27001: ['A.8.14'], psrule: ['Azure.PostgreSQL.ZoneRedundantHA']}, // azqr psqlf-003 only reports the SLA: no azqr id
  },
  {
    id: 'pg.maintenance.window',
    title: "PostgreSQL has a custom maintenance window (the catalog's, where it names one)",
    severity: 'medium',
    resourceTypes: PG,
    reads: ['properties.maintenanceWindow.customWindow', 'properties.maintenanceWindow.dayOfWeek', 'properties.maintenanceWindow.startHour', 'properties.maintenanceWindow.startMinute'],
    evaluate(resource, _f, context) {
      const component = postgresComponent(context)
      if (!component?.window) {
        // No catalog window: a customer-controlled window is still wanted, or Azure patches whenever it chooses (PSRule
        // Azure.PostgreSQL.MaintenanceWindow, rules/Azure.PostgreSQL.Rule.yaml: `properties.maintenanceWindow.customWindow
        // equals Enabled` on every flexible server). This was not applicable, which PSRule fails.
        const custom = readOrDefault(resource, 'properties.maintenanceWindow.customWindow', 'Disabled')
        return String(custom.value).toLowerCase() === 'enabled'
          ? pass('customWindow is Enabled (the catalog names no window to compare with)')
          : fail(`${describeSetting('customWindow', custom)}: Azure picks the maintenance time (system-managed window)`)
      }
      const window = context.environment.windows[component.window]
      if (!window) throw new MissingData(`the catalog window '${component.window}' is not defined`)
      const want = windowStartUtc(window, context.now)
      const custom = String(read(resource, 'properties.maintenanceWindow.customWindow'))
      if (custom.toLowerCase() !== 'enabled') return fail(`customWindow is ${custom}; the catalog's '${component.window}' window starts ${describe(want)}`)
      const day = Number(read(resource, 'properties.maintenanceWindow.dayOfWeek'))
      const hour = Number(read(resource, 'properties.maintenanceWindow.startHour'))
      const minute = Number(read(resource, 'properties.maintenanceWindow.startMinute'))
      const found = describe({dayOfWeek: day, hour, minute})
      return day === want.dayOfWeek && hour === want.hour && minute === want.minute
        ? pass(`custom window starts ${found}, as the '${component.window}' window`)
        : fail(`custom window starts ${found}; the catalog's '${component.window}' window starts ${describe(want)}`)
    },
    remediation: {
      text: "Set the server's custom maintenance window to the catalog's window (the maintenance-window runbook does this).",
      az: `${AZ} update --resource-group <rg> --name <name> --maintenance-window "<Day>:<hour>:<minute>"`,
    },
    frameworks: {soc2: ['CC8.1'], iso27001: ['A.8.32'], psrule: ['Azure.PostgreSQL.MaintenanceWindow']},
  },
]

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
function describe(start: {dayOfWeek: number; hour: number; minute: number}): string {
  return `${DAYS[start.dayOfWeek] ?? `day ${start.dayOfWeek}`} ${String(start.hour).padStart(2, '0')}:${String(start.minute).padStart(2, '0')} UTC`
}
