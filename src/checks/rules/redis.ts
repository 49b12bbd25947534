/**
 * Azure Cache for Redis checks (Prowler has none). Everything but the patch schedule is in Resource Graph.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {approvedPrivateEndpoints, atLeastTls12, fail, isTrue, MissingData, needFact, notApplicable, pass, read, valueAt} from './helpers.js'
import {windowStartUtc} from './window-utc.js'

const REDIS = [RESOURCE_TYPES.redis]
const AZ = 'az redis'

export const redisRules: CheckRule[] = [
  {
    id: 'redis.tls.no_plain_port',
    title: 'Redis non-TLS port 6379 is disabled',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.enableNonSslPort'],
    evaluate(resource) {
      const value = read(resource, 'properties.enableNonSslPort')
      return isTrue(value) ? fail('enableNonSslPort is true') : pass('enableNonSslPort is false')
    },
    remediation: {text: 'Disable the non-TLS port.', az: `${AZ} update --resource-group <rg> --name <name> --set enableNonSslPort=false`},
    frameworks: {mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24']},
  },
  {
    id: 'redis.tls.min12',
    title: 'Redis accepts TLS 1.2 or newer only',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.minimumTlsVersion'],
    evaluate(resource) {
      const value = read(resource, 'properties.minimumTlsVersion')
      return atLeastTls12(value, 'minimumTlsVersion') ? pass(`minimumTlsVersion is ${value}`) : fail(`minimumTlsVersion is ${value}`)
    },
    remediation: {text: 'Require TLS 1.2.', az: `${AZ} update --resource-group <rg> --name <name> --set minimumTlsVersion=1.2`},
    frameworks: {mcsb: ['DP-3'], iso27001: ['A.8.24']},
  },
  {
    id: 'redis.net.public_disabled',
    title: 'Redis public network access is disabled',
    severity: 'high',
    resourceTypes: REDIS,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      const value = String(read(resource, 'properties.publicNetworkAccess'))
      return value.toLowerCase() === 'disabled' ? pass('publicNetworkAccess is Disabled') : fail(`publicNetworkAccess is ${value}`)
    },
    remediation: {text: 'Disable public network access.', az: `${AZ} update --resource-group <rg> --name <name> --set publicNetworkAccess=Disabled`},
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20']},
  },
  {
    id: 'redis.net.private',
    title: 'Redis is reached through a private endpoint or VNet injection',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.privateEndpointConnections', 'properties.subnetId'],
    evaluate(resource) {
      const subnet = valueAt(resource, 'properties.subnetId')
      if (subnet) return pass(`VNet-injected into ${String(subnet).split('/').slice(-3).join('/')}`)
      if (!resource.properties) throw new MissingData('properties is absent')
      // ARM omits privateEndpointConnections when there are none: absence is "none" (a fail), never a pass.
      const connections = valueAt(resource, 'properties.privateEndpointConnections') ?? []
      if (!Array.isArray(connections)) throw new MissingData('properties.privateEndpointConnections is not a list')
      const approved = approvedPrivateEndpoints(connections)
      return approved > 0 ? pass(`${approved} approved private endpoint(s)`) : fail('no approved private endpoint and no VNet injection')
    },
    remediation: {
      text: 'Add a private endpoint for the cache (group id redisCache).',
      az: 'az network private-endpoint create --resource-group <rg> --name <pe> --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id <cache-id> --group-id redisCache --connection-name <name>',
    },
    frameworks: {mcsb: ['NS-2']},
  },
  {
    id: 'redis.auth.no_keys',
    title: 'Redis access-key authentication is disabled (Entra only)',
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['properties.disableAccessKeyAuthentication'],
    evaluate(resource) {
      const value = read(resource, 'properties.disableAccessKeyAuthentication')
      return isTrue(value) ? pass('disableAccessKeyAuthentication is true') : fail('disableAccessKeyAuthentication is false: access keys work')
    },
    remediation: {text: 'Disable access-key authentication and use Microsoft Entra.', az: `${AZ} update --resource-group <rg> --name <name> --set disableAccessKeyAuthentication=true`},
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1']},
  },
  {
    id: 'redis.sku.not_basic',
    title: 'Redis is not on the Basic tier (no SLA, no replication)',
    severity: 'low',
    resourceTypes: REDIS,
    reads: ['properties.sku.name'],
    evaluate(resource) {
      // ARG nests the Redis sku under properties; ARM returns it at the top level too.
      const sku = valueAt(resource, 'properties.sku.name') ?? valueAt(resource, 'sku.name')
      if (sku === undefined || sku === null) throw new MissingData('properties.sku.name is absent')
      return String(sku).toLowerCase() === 'basic' ? fail('sku is Basic') : pass(`sku is ${sku}`)
    },
    remediation: {text: 'Scale to Standard or Premium.', az: `${AZ} update --resource-group <rg> --name <name> --sku Standard`},
    frameworks: {cis: ['F6 6.1.5'], mcsb: ['BR-1']},
  },
  {
    id: 'redis.maintenance.patch_schedule',
    title: "Redis patch schedule matches the catalog's maintenance window",
    severity: 'medium',
    resourceTypes: REDIS,
    reads: ['patchSchedules/default.scheduleEntries'],
    facts: ['redisPatchSchedule'],
    evaluate(_resource, facts, context) {
      const spec = context.component?.spec
      if (!spec?.window) return notApplicable('the catalog names no maintenance window for this cache')
      const window = context.environment.windows[spec.window]
      if (!window) throw new MissingData(`the catalog window '${spec.window}' is not defined`)
      const want = windowStartUtc(window, context.now)
      const schedule = needFact(facts, 'redisPatchSchedule') as {scheduleEntries?: Array<{dayOfWeek: string; startHourUtc: number}>} | null
      const wanted = `${want.day} ${String(want.hour).padStart(2, '0')}:00 UTC`
      if (schedule === null) return fail(`no patch schedule; the catalog's '${spec.window}' window starts ${wanted}`)
      const entries = schedule.scheduleEntries
      if (!Array.isArray(entries)) throw new MissingData('patch schedule has no scheduleEntries')
      const found = entries.map((e) => `${e.dayOfWeek} ${String(e.startHourUtc).padStart(2, '0')}:00 UTC`)
      const matches = entries.some(
        (e) =>
          Number(e.startHourUtc) === want.hour &&
          (e.dayOfWeek === want.day || e.dayOfWeek === 'Everyday' || (e.dayOfWeek === 'Weekend' && (want.dayOfWeek === 0 || want.dayOfWeek === 6))),
      )
      const extra = entries.length > 1 ? ' (other entries allow patching outside the window)' : ''
      return matches && entries.length === 1
        ? pass(`patch schedule ${found.join(', ')} as the '${spec.window}' window`)
        : fail(`patch schedule ${found.join(', ') || 'is empty'}; the catalog's '${spec.window}' window starts ${wanted}${matches ? extra : ''}`)
    },
    remediation: {
      text: "Set the cache's patch schedule to the catalog's window (the maintenance-window runbook does this).",
      az: `${AZ} patch-schedule create --resource-group <rg> --name <name> --schedule-entries '[{"dayOfWeek":"<Day>","startHourUtc":<hour>,"maintenanceWindow":"PT5H"}]'`,
    },
    frameworks: {soc2: ['CC8.1'], iso27001: ['A.8.32']},
  },
]
