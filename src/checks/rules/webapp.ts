/**
 * App Service checks. Every rule applies to production sites and to every deployment slot: a slot is swapped
 * into production, so a weaker slot is a weaker production tomorrow (Prowler has no slot checks).
 * `siteConfig` comes from Resource Graph's `appserviceresources` (config/web), keys camelCased.
 */
import type {WebappComponent} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule, type InventoryResource, type ResourceFacts} from '../types.js'
import {approvedPrivateEndpoints, atLeastTls12, fail, isTrue, MissingData, needFact, pass, read, readIn, valueAt} from './helpers.js'

const APPS = [RESOURCE_TYPES.site, RESOURCE_TYPES.slot]
const AZ = 'az webapp'

/** `--slot <slot>` for slots, nothing for production: used in remediation text. */
const SLOT_ARG = '[--slot <slot>]'

function config(facts: ResourceFacts, path: string): any {
  return readIn(needFact(facts, 'siteConfig'), path, 'config/web')
}

function configRule(options: {
  id: string
  title: string
  severity: CheckRule['severity']
  path: string
  ok(value: any): boolean
  describe?(value: any): string
  remediation: CheckRule['remediation']
  frameworks: CheckRule['frameworks']
}): CheckRule {
  return {
    id: options.id,
    title: options.title,
    severity: options.severity,
    resourceTypes: APPS,
    reads: [`config/web.${options.path}`],
    facts: ['siteConfig'],
    evaluate(_r, facts) {
      const value = config(facts, options.path)
      const text = options.describe ? options.describe(value) : `${options.path} is ${JSON.stringify(value)}`
      return options.ok(value) ? pass(text) : fail(text)
    },
    remediation: options.remediation,
    frameworks: options.frameworks,
  }
}

function hasIdentity(resource: InventoryResource): {ok: boolean; type: string} {
  const type = valueAt(resource, 'identity.type')
  if (resource.identity === null || (resource.identity !== undefined && type === undefined)) return {ok: false, type: 'None'}
  if (resource.identity === undefined) throw new MissingData('identity is absent')
  return {ok: /systemassigned|userassigned/i.test(String(type)), type: String(type)}
}

/** The settings slot parity compares, as [label, read]. Each read throws MissingData when absent. */
const PARITY: Array<[string, (r: InventoryResource, f: ResourceFacts) => unknown]> = [
  ['httpsOnly', (r) => isTrue(read(r, 'properties.httpsOnly'))],
  ['minTlsVersion', (_r, f) => String(config(f, 'minTlsVersion'))],
  ['ftpsState', (_r, f) => String(config(f, 'ftpsState'))],
  ['remoteDebuggingEnabled', (_r, f) => isTrue(config(f, 'remoteDebuggingEnabled'))],
  ['http20Enabled', (_r, f) => isTrue(config(f, 'http20Enabled'))],
  ['managed identity', (r) => hasIdentity(r).ok],
]

export const webappRules: CheckRule[] = [
  {
    id: 'app.https_only',
    title: 'Web app redirects HTTP to HTTPS (httpsOnly)',
    severity: 'high',
    resourceTypes: APPS,
    reads: ['properties.httpsOnly'],
    evaluate(resource) {
      return isTrue(read(resource, 'properties.httpsOnly')) ? pass('httpsOnly is true') : fail('httpsOnly is false')
    },
    remediation: {text: 'Turn on HTTPS Only.', az: `${AZ} update --resource-group <rg> --name <name> ${SLOT_ARG} --https-only true`},
    frameworks: {cis: ['F3 9.1'], mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24']},
  },
  configRule({
    id: 'app.tls.min12',
    title: 'Web app accepts TLS 1.2 or newer only',
    severity: 'medium',
    path: 'minTlsVersion',
    ok: (v) => atLeastTls12(v, 'minTlsVersion'),
    describe: (v) => `minTlsVersion is ${v}`,
    remediation: {text: 'Set the minimum TLS version to 1.2.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --min-tls-version 1.2`},
    frameworks: {cis: ['F3 9.4'], mcsb: ['DP-3'], iso27001: ['A.8.24']},
  }),
  configRule({
    id: 'app.ftps',
    title: 'Web app FTP is disabled or FTPS-only',
    severity: 'high',
    path: 'ftpsState',
    ok: (v) => ['disabled', 'ftpsonly'].includes(String(v).toLowerCase()),
    describe: (v) => `ftpsState is ${v}`,
    remediation: {text: 'Disable FTP (or allow FTPS only).', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --ftps-state Disabled`},
    frameworks: {cis: ['F3 9.3'], mcsb: ['DP-3']},
  }),
  {
    id: 'app.basic_auth.off',
    title: 'Web app basic authentication is off for FTP and SCM (Kudu) publishing',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['basicPublishingCredentialsPolicies/ftp.properties.allow', 'basicPublishingCredentialsPolicies/scm.properties.allow'],
    facts: ['publishingCredentials'],
    evaluate(_r, facts) {
      const policies = needFact(facts, 'publishingCredentials') as Record<'ftp' | 'scm', {allow?: unknown}>
      const allowed = (['ftp', 'scm'] as const).filter((policy) => {
        const allow = policies[policy]?.allow
        if (typeof allow !== 'boolean') throw new MissingData(`basicPublishingCredentialsPolicies/${policy}.allow is absent`)
        return allow
      })
      return allowed.length === 0 ? pass('basic auth is off for FTP and SCM') : fail(`basic auth is allowed for ${allowed.map((p) => p.toUpperCase()).join(' and ')}`)
    },
    remediation: {
      text: 'Disallow basic authentication for FTP and SCM publishing (deploy with Entra ID instead).',
      az: `az resource update --resource-group <rg> --namespace Microsoft.Web --resource-type basicPublishingCredentialsPolicies --parent sites/<name>[/slots/<slot>] --name ftp --set properties.allow=false  (and --name scm)`,
    },
    frameworks: {cis: ['F3 9.6'], mcsb: ['IM-1'], soc2: ['CC6.1']},
  },
  configRule({
    id: 'app.remote_debug.off',
    title: 'Web app remote debugging is off',
    severity: 'medium',
    path: 'remoteDebuggingEnabled',
    ok: (v) => !isTrue(v),
    describe: (v) => `remoteDebuggingEnabled is ${v}`,
    remediation: {text: 'Turn remote debugging off.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --remote-debugging-enabled false`},
    frameworks: {cis: ['F3 9.12'], mcsb: ['PV-2']},
  }),
  {
    id: 'app.identity',
    title: 'Web app has a managed identity',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['identity.type'],
    evaluate(resource) {
      const identity = hasIdentity(resource)
      return identity.ok ? pass(`identity type is ${identity.type}`) : fail(`identity type is ${identity.type}`)
    },
    remediation: {text: 'Assign a system-assigned (or user-assigned) managed identity.', az: `${AZ} identity assign --resource-group <rg> --name <name> ${SLOT_ARG}`},
    frameworks: {cis: ['F3 9.5'], mcsb: ['IM-3'], soc2: ['CC6.1']},
  },
  {
    id: 'app.auth.easy_auth',
    title: 'Web app App Service Authentication (Easy Auth) is on',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['config/authsettingsV2.platform.enabled'],
    facts: ['authSettings'],
    evaluate(_r, facts) {
      const enabled = readIn(needFact(facts, 'authSettings'), 'platform.enabled', 'config/authsettingsV2')
      return isTrue(enabled) ? pass('authsettingsV2 platform.enabled is true') : fail(`authsettingsV2 platform.enabled is ${enabled}`)
    },
    remediation: {text: 'Turn on App Service Authentication with an identity provider.', az: `${AZ} auth update --resource-group <rg> --name <name> ${SLOT_ARG} --enabled true`},
    frameworks: {cis: ['F3 9.2'], mcsb: ['IM-1'], soc2: ['CC6.1']},
  },
  configRule({
    id: 'app.http2',
    title: 'Web app serves HTTP/2',
    severity: 'low',
    path: 'http20Enabled',
    ok: (v) => isTrue(v),
    describe: (v) => `http20Enabled is ${v}`,
    remediation: {text: 'Enable HTTP/2.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --http20-enabled true`},
    frameworks: {cis: ['F3 9.10']},
  }),
  {
    id: 'app.cors.no_wildcard',
    title: 'Web app CORS does not allow every origin',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['config/web.cors.allowedOrigins'],
    facts: ['siteConfig'],
    evaluate(_r, facts) {
      const siteConfig = needFact(facts, 'siteConfig')
      // No CORS block at all means no cross-origin access is granted: that is a present, safe value.
      const cors = valueAt(siteConfig, 'cors')
      if (cors === null) return pass('no CORS configuration')
      if (cors === undefined) throw new MissingData('config/web.cors is absent')
      const origins = valueAt(cors, 'allowedOrigins') ?? []
      if (!Array.isArray(origins)) throw new MissingData('config/web.cors.allowedOrigins is not a list')
      return origins.includes('*') ? fail('CORS allows origin *') : pass(`CORS allows ${origins.length} named origin(s)`)
    },
    remediation: {text: 'List the allowed origins explicitly.', az: `${AZ} cors remove --resource-group <rg> --name <name> ${SLOT_ARG} --allowed-origins '*'`},
    frameworks: {mcsb: ['PV-2']},
  },
  {
    id: 'app.net.restricted',
    title: 'Web app is not open to the public network (public access disabled or private endpoint)',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['properties.publicNetworkAccess', 'properties.privateEndpointConnections'],
    evaluate(resource) {
      const access = String(read(resource, 'properties.publicNetworkAccess'))
      if (access.toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      const approved = approvedPrivateEndpoints(valueAt(resource, 'properties.privateEndpointConnections'))
      return approved > 0
        ? pass(`publicNetworkAccess is ${access}, with ${approved} approved private endpoint(s)`)
        : fail(`publicNetworkAccess is ${access} and there is no approved private endpoint`)
    },
    remediation: {text: 'Disable public network access and add a private endpoint.', az: `az resource update --ids <id> --set properties.publicNetworkAccess=Disabled`},
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6']},
  },
  {
    id: 'app.logs.http',
    title: 'Web app sends HTTP logs to a diagnostic setting',
    severity: 'low',
    resourceTypes: APPS,
    reads: ['diagnosticSettings[*].logs[category=AppServiceHTTPLogs | categoryGroup=allLogs]'],
    facts: ['diagnosticSettings'],
    evaluate(_r, facts) {
      const settings = needFact(facts, 'diagnosticSettings') as Array<{name: string; logs?: Array<{category?: string; categoryGroup?: string; enabled?: boolean}>}>
      // allLogs counts too (Prowler #8460 reported it as a failure).
      const sending = settings.find((s) =>
        (s.logs ?? []).some((l) => l.enabled && (l.category === 'AppServiceHTTPLogs' || l.categoryGroup?.toLowerCase() === 'alllogs')),
      )
      return sending ? pass(`diagnostic setting ${sending.name} sends HTTP logs`) : fail(`${settings.length} diagnostic setting(s), none send AppServiceHTTPLogs`)
    },
    remediation: {
      text: 'Add a diagnostic setting that sends AppServiceHTTPLogs (or allLogs) to Log Analytics.',
      az: 'az monitor diagnostic-settings create --resource <id> --name http-logs --workspace <workspace-id> --logs \'[{"categoryGroup":"allLogs","enabled":true}]\'',
    },
    frameworks: {cis: ['F3 6.1.6', 'F6 6.1.1.6'], mcsb: ['LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15']},
  },
  {
    id: 'app.health_check',
    title: "Web app health check path is set (to the catalog's healthPath)",
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['config/web.healthCheckPath'],
    facts: ['siteConfig'],
    evaluate(_r, facts, context) {
      const value = valueAt(needFact(facts, 'siteConfig'), 'healthCheckPath')
      if (value === undefined) throw new MissingData('config/web.healthCheckPath is absent')
      const want = context.component?.spec.type === 'webapp' ? (context.component.spec as WebappComponent).healthPath : undefined
      if (!value) return fail(`no health check path${want ? `; the catalog's healthPath is ${want}` : ''}`)
      if (want && value !== want) return fail(`healthCheckPath is ${value}; the catalog's healthPath is ${want}`)
      return pass(`healthCheckPath is ${value}`)
    },
    remediation: {text: "Set the health check path to the component's healthPath.", az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --generic-configurations '{"healthCheckPath":"/health"}'`},
    frameworks: {mcsb: ['BR-1'], soc2: ['A1.1']},
  },
  configRule({
    id: 'app.always_on',
    title: 'Web app Always On is set',
    severity: 'medium',
    path: 'alwaysOn',
    ok: (v) => isTrue(v),
    describe: (v) => `alwaysOn is ${v}`,
    remediation: {text: 'Turn Always On on.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --always-on true`},
    frameworks: {soc2: ['A1.1']},
  }),
  {
    id: 'app.slot.parity',
    title: 'Deployment slot is configured as securely as production',
    severity: 'high',
    resourceTypes: [RESOURCE_TYPES.slot],
    reads: ['properties.httpsOnly', 'identity.type', 'config/web.minTlsVersion', 'config/web.ftpsState', 'config/web.remoteDebuggingEnabled', 'config/web.http20Enabled'],
    facts: ['siteConfig'],
    evaluate(resource, facts, context) {
      if (!context.parent) throw new MissingData('the production site of this slot was not found in the inventory')
      const parent = context.parent
      const differences: string[] = []
      for (const [label, get] of PARITY) {
        let production: unknown
        try {
          production = get(parent.resource, parent.facts)
        } catch (error) {
          if (error instanceof MissingData) throw new MissingData(`production ${error.message}`)
          throw error
        }
        const slot = get(resource, facts)
        if (slot !== production) differences.push(`${label} ${String(slot)} (production ${String(production)})`)
      }
      return differences.length === 0 ? pass('slot matches production on every setting compared') : fail(`slot differs from production: ${differences.join('; ')}`)
    },
    remediation: {text: "Apply production's settings to the slot before it is swapped in.", az: `${AZ} config set --resource-group <rg> --name <name> --slot <slot> …`},
    frameworks: {mcsb: ['PV-2'], soc2: ['CC8.1']},
  },
]
