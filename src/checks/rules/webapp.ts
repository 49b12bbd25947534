/**
 * App Service checks. Every rule applies to production sites and to every deployment slot: a slot is swapped
 * into production, so a weaker slot is a weaker production tomorrow (Prowler has no slot checks).
 * `siteConfig` comes from Resource Graph's `appserviceresources` (config/web), keys camelCased.
 */
import type {WebappComponent} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule, type InventoryResource, type ResourceFacts} from '../types.js'
import {atLeastTls12, describeSetting, fail, isTrue, MissingData, needFact, notApplicable, pass, readIn, readOrDefault, valueAt} from './helpers.js'
import {endOfLife} from './runtime-stacks.js'

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

/**
 * Whether an access-restriction list denies unmatched traffic. `…DefaultAction` (Allow | Deny) decides when set
 * ("Set up Azure App Service access restrictions", learn.microsoft.com/azure/app-service/app-service-ip-restrictions,
 * "Unmatched rule action"); unset is Allow, so a list whose only rule is "Allow all" (ipAddress Any) restricts nothing.
 */
function deniesUnmatched(siteConfig: unknown, prefix: '' | 'scm'): boolean {
  const key = prefix ? 'scmIpSecurityRestrictions' : 'ipSecurityRestrictions'
  const action = valueAt(siteConfig, `${key}DefaultAction`)
  return String(action ?? 'Allow').toLowerCase() === 'deny'
}

/** Main and SCM (Kudu) endpoints both deny unmatched traffic (the SCM site may reuse the main rules). */
function accessRestricted(siteConfig: unknown): {main: boolean; scm: boolean} {
  const main = deniesUnmatched(siteConfig, '')
  const scm = isTrue(valueAt(siteConfig, 'scmIpSecurityRestrictionsUseMain')) ? main : deniesUnmatched(siteConfig, 'scm')
  return {main, scm}
}

/** Site.httpsOnly, unset read as false (no spec default; the site then serves plain HTTP). */
function httpsOnly(resource: InventoryResource): {value: boolean; defaulted: boolean} {
  const setting = readOrDefault(resource, 'properties.httpsOnly', false)
  return {value: isTrue(setting.value), defaulted: setting.defaulted}
}

/**
 * SiteConfig.remoteDebuggingEnabled: "true if remote debugging is enabled; otherwise, false" (CommonDefinitions.json,
 * no default) — unset is off, as PSRule reads it (Azure.AppService.RemoteDebug: `HasDefaultValue(…, $False)`).
 */
function remoteDebugging(siteConfig: unknown): {value: boolean; defaulted: boolean} {
  const value = valueAt(siteConfig, 'remoteDebuggingEnabled')
  return value === undefined || value === null ? {value: false, defaulted: true} : {value: isTrue(value), defaulted: false}
}

/**
 * Function apps and Logic Apps (Standard): `kind` contains functionapp or workflowapp (PSRule's selectors
 * Azure.AppService.IsFunctionApp / IsLogicApp, rules/Azure.AppService.Rule.yaml). Checks made for web apps skip them.
 */
function functionOrLogicApp(resource: InventoryResource): string | undefined {
  const kind = String(resource.kind ?? '').toLowerCase()
  return kind.includes('workflowapp') ? 'a Logic App (Standard)' : kind.includes('functionapp') ? 'a function app' : undefined
}

/** The settings slot parity compares, as [label, read]. Each read throws MissingData when absent. */
const PARITY: Array<[string, (r: InventoryResource, f: ResourceFacts) => unknown]> = [
  ['httpsOnly', (r) => httpsOnly(r).value],
  ['minTlsVersion', (_r, f) => String(config(f, 'minTlsVersion'))],
  ['scmMinTlsVersion', (_r, f) => String(config(f, 'scmMinTlsVersion'))],
  ['publicNetworkAccess', (r) => String(readOrDefault(r, 'properties.publicNetworkAccess', 'Enabled').value || 'Enabled')],
  ['access restrictions', (_r, f) => JSON.stringify(accessRestricted(needFact(f, 'siteConfig')))],
  ['ftpsState', (_r, f) => String(config(f, 'ftpsState'))],
  ['remoteDebuggingEnabled', (_r, f) => remoteDebugging(needFact(f, 'siteConfig')).value],
  ['http20Enabled', (_r, f) => isTrue(config(f, 'http20Enabled'))],
  ['managed identity', (r) => hasIdentity(r).ok],
]

export const webappRules: CheckRule[] = [
  // Slot twins of the site policies (Azure/azure-policy built-in-policies/policyDefinitions/App Service): 4a15c15f managed identity,
  // 5b0bd968 client certificates, 4dcfb8b5 HTTP version, 701a595d public network access, d639b3af resource logs, ec71c0bc / 847ef871
  // FTP / SCM local authentication; these checks cover slots too.
  {
    id: 'app.https_only',
    title: 'Web app redirects HTTP to HTTPS (httpsOnly)',
    severity: 'high',
    resourceTypes: APPS,
    reads: ['properties.httpsOnly'],
    evaluate(resource) {
      // Site.httpsOnly has no spec default ("HttpsOnly: configures a web site to accept only https requests", Microsoft.Web
      // stable/2023-12-01 CommonDefinitions.json): unset accepts plain HTTP, a fail as PSRule reads it (Azure.AppService.UseHTTPS
      // `equals: true`, rules/Azure.AppService.Rule.yaml) — it was an error.
      const setting = httpsOnly(resource)
      return setting.value ? pass(describeSetting('httpsOnly', setting)) : fail(describeSetting('httpsOnly', setting))
    },
    remediation: {text: 'Turn on HTTPS Only.', az: `${AZ} update --resource-group <rg> --name <name> ${SLOT_ARG} --https-only true`},
    frameworks: {cis: ['F3 9.1'], mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24'], psrule: ['Azure.AppService.UseHTTPS'], defender: ['a4af4a39', 'ae1b9a8c'], azqr: ['app-007', 'func-007', 'logics-007']},
  },
  {
    id: 'app.tls.min12',
    title: 'Web app accepts TLS 1.2 or newer only, on the app and on its SCM (Kudu) site',
    severity: 'high',
    resourceTypes: APPS,
    // SiteConfig.scmMinTlsVersion (Microsoft.Web CommonDefinitions.json): the SCM endpoint has its own minimum.
    reads: ['config/web.minTlsVersion', 'config/web.scmMinTlsVersion'],
    facts: ['siteConfig'],
    evaluate(_r, facts) {
      const app = config(facts, 'minTlsVersion')
      const scm = config(facts, 'scmMinTlsVersion')
      const text = `minTlsVersion is ${app}, scmMinTlsVersion is ${scm}`
      return atLeastTls12(app, 'minTlsVersion') && atLeastTls12(scm, 'scmMinTlsVersion') ? pass(text) : fail(text)
    },
    remediation: {
      text: 'Set the minimum TLS version of the app and of its SCM site to 1.2.',
      az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --min-tls-version 1.2 --generic-configurations '{"scmMinTlsVersion":"1.2"}'`,
    },
    frameworks: {cis: ['F3 9.4'], mcsb: ['DP-3'], iso27001: ['A.8.24'], psrule: ['Azure.AppService.MinTLS'], defender: ['f0e6e85b', '4ee5b817']},
  },
  configRule({
    id: 'app.ftps',
    title: 'Web app FTP is disabled or FTPS-only',
    severity: 'high',
    path: 'ftpsState',
    ok: (v) => ['disabled', 'ftpsonly'].includes(String(v).toLowerCase()),
    describe: (v) => `ftpsState is ${v}`,
    remediation: {text: 'Disable FTP (or allow FTPS only).', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --ftps-state Disabled`},
    frameworks: {cis: ['F3 9.3'], mcsb: ['DP-3'], psrule: ['Azure.AppService.WebSecureFtp'], defender: ['4d24b6d4', 'c285a320']},
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
    frameworks: {cis: ['F3 9.6'], mcsb: ['IM-1'], soc2: ['CC6.1'], defender: ['871b205b', 'aede300b', 'ec71c0bc', '847ef871']},
  },
  {
    id: 'app.remote_debug.off',
    title: 'Web app remote debugging is off',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['config/web.remoteDebuggingEnabled'],
    facts: ['siteConfig'],
    evaluate(_r, facts) {
      const setting = remoteDebugging(needFact(facts, 'siteConfig'))
      const text = setting.defaulted ? 'remoteDebuggingEnabled is not set (off)' : `remoteDebuggingEnabled is ${setting.value}`
      return setting.value ? fail(text) : pass(text)
    },
    remediation: {text: 'Turn remote debugging off.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --remote-debugging-enabled false`},
    frameworks: {cis: ['F3 9.12'], mcsb: ['PV-2'], psrule: ['Azure.AppService.RemoteDebug'], defender: ['cb510bfd', 'a08ae1ab']},
  },
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
    frameworks: {cis: ['F3 9.5'], mcsb: ['IM-3'], soc2: ['CC6.1'], psrule: ['Azure.AppService.ManagedIdentity'], defender: ['2b9ad585', '4a15c15f']},
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
    frameworks: {cis: ['F3 9.2'], mcsb: ['IM-1'], soc2: ['CC6.1'], defender: ['95bccee9']},
  },
  configRule({
    id: 'app.http2',
    title: 'Web app serves HTTP/2',
    severity: 'low',
    path: 'http20Enabled',
    ok: (v) => isTrue(v),
    describe: (v) => `http20Enabled is ${v}`,
    remediation: {text: 'Enable HTTP/2.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --http20-enabled true`},
    frameworks: {cis: ['F3 9.10'], psrule: ['Azure.AppService.HTTP2'], defender: ['8c122334', '4dcfb8b5']},
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
    frameworks: {mcsb: ['PV-2'], defender: ['5744710e']},
  },
  {
    id: 'app.net.restricted',
    title: 'Web app is not open to the public network (public access off, private endpoint only, or access restrictions deny by default)',
    severity: 'medium',
    resourceTypes: APPS,
    reads: [
      'properties.publicNetworkAccess',
      'private endpoints targeting the app (Resource Graph microsoft.network/privateendpoints)',
      'config/web.{ipSecurityRestrictionsDefaultAction,scmIpSecurityRestrictionsDefaultAction,scmIpSecurityRestrictionsUseMain}',
    ],
    facts: ['siteConfig', 'privateEndpoints'],
    evaluate(resource, facts) {
      // Azure does not return privateEndpointConnections on Microsoft.Web/sites; private endpoints come from the
      // privateEndpointConnections API / Resource Graph (fact `privateEndpoints`).
      const access = readOrDefault(resource, 'properties.publicNetworkAccess', '')
      const value = String(access.value)
      if (value.toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      const endpoints = (needFact(facts, 'privateEndpoints') as Array<{status?: string}>).filter((e) => String(e.status).toLowerCase() === 'approved')
      // "Private endpoints for App Service apps": with a private endpoint and publicNetworkAccess left unset, the app
      // is reachable through the endpoint only; publicNetworkAccess=Enabled opens the public endpoint again.
      if (endpoints.length > 0 && value === '') return pass(`${endpoints.length} approved private endpoint(s) and publicNetworkAccess not set: private access only`)
      const restricted = accessRestricted(needFact(facts, 'siteConfig'))
      if (restricted.main && restricted.scm) return pass(`access restrictions deny unmatched traffic on the app and the SCM site${endpoints.length ? `; ${endpoints.length} private endpoint(s)` : ''}`)
      const open = [restricted.main ? undefined : 'the app', restricted.scm ? undefined : 'the SCM site'].filter(Boolean).join(' and ')
      return fail(`publicNetworkAccess is ${value || 'not set (Enabled)'}, ${endpoints.length} approved private endpoint(s), and access restrictions allow unmatched traffic to ${open}`)
    },
    remediation: {
      text: 'Disable public network access (reach the app through a private endpoint), or set the access restrictions of the app and its SCM site to deny unmatched traffic.',
      az: `${AZ} update --resource-group <rg> --name <name> ${SLOT_ARG} --set publicNetworkAccess=Disabled`,
    },
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], defender: ['1b5ef780', '701a595d', '687aa49d']}, // 701a595d: the slots twin of 1b5ef780
  },
  {
    id: 'app.net.vnet',
    title: 'Web app is integrated with a virtual network',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['properties.virtualNetworkSubnetId', 'config/web.vnetRouteAllEnabled'],
    facts: ['siteConfig'],
    evaluate(resource, facts) {
      const subnet = readOrDefault(resource, 'properties.virtualNetworkSubnetId', null)
      if (subnet.defaulted || !subnet.value) return fail('no virtual network integration (virtualNetworkSubnetId not set)')
      const routeAll = isTrue(valueAt(needFact(facts, 'siteConfig'), 'vnetRouteAllEnabled'))
      return pass(`integrated with ${String(subnet.value).split('/').slice(-3).join('/')}${routeAll ? ', all outbound traffic routed through it' : ''}`)
    },
    remediation: {text: 'Integrate the app with a subnet and route all outbound traffic through it.', az: `${AZ} vnet-integration add --resource-group <rg> --name <name> ${SLOT_ARG} --vnet <vnet> --subnet <subnet>`},
    // azqr app-009 "App Service should use VNET integration" (virtualNetworkSubnetId empty; Azure/azqr internal/graph/azqr/azure-resources/Web/sites/kql/app-009.kql;
    // func-009 / logics-009 are the same query for function apps and Logic Apps Standard, which this check also covers);
    // app-010 (route all) is not required here. Azure Policy 72d04c29 is App Service Environment injection, not this.
    frameworks: {mcsb: ['NS-1'], azqr: ['app-009', 'func-009', 'logics-009']},
  },
  {
    id: 'app.arr_affinity.off',
    title: 'Web app does not pin clients to one instance (ARR affinity off)',
    severity: 'low',
    resourceTypes: APPS,
    reads: ['properties.clientAffinityEnabled'],
    evaluate(resource) {
      // Site.clientAffinityEnabled: "true to enable client affinity; false to stop sending session affinity cookies … Default is true."
      const affinity = readOrDefault(resource, 'properties.clientAffinityEnabled', true)
      return isTrue(affinity.value) ? fail(describeSetting('clientAffinityEnabled', affinity)) : pass('clientAffinityEnabled is false')
    },
    remediation: {text: 'Turn ARR affinity off for stateless apps.', az: `${AZ} update --resource-group <rg> --name <name> ${SLOT_ARG} --client-affinity-enabled false`},
    // azqr app-015 / func-013 / logics-013 "… should avoid using Client Affinity" (clientAffinityEnabled == true, per site kind;
    // Azure/azqr internal/graph/azqr/azure-resources/Web/sites/kql). azqr's app-007 / func-007 / logics-007 split httpsOnly the same way.
    frameworks: {psrule: ['Azure.AppService.ARRAffinity'], azqr: ['app-015', 'func-013', 'logics-013']},
  },
  {
    id: 'app.client_cert',
    title: 'Web app requires incoming client certificates',
    severity: 'low',
    resourceTypes: APPS,
    reads: ['properties.clientCertEnabled', 'properties.clientCertMode'],
    evaluate(resource) {
      // Site.clientCertEnabled: "true to enable client certificate authentication (TLS mutual authentication); otherwise, false. Default is false."
      const enabled = readOrDefault(resource, 'properties.clientCertEnabled', false)
      if (!isTrue(enabled.value)) return fail(describeSetting('clientCertEnabled', enabled))
      const mode = valueAt(resource, 'properties.clientCertMode') ?? 'Required'
      return String(mode).toLowerCase() === 'required' ? pass('client certificates required') : fail(`clientCertEnabled is true but clientCertMode is ${mode}`)
    },
    remediation: {text: 'Require incoming client certificates.', az: `${AZ} update --resource-group <rg> --name <name> ${SLOT_ARG} --set clientCertEnabled=true clientCertMode=Required`},
    frameworks: {mcsb: ['IM-4'], defender: ['19dd1db6', '5b0bd968']},
  },
  {
    id: 'app.stack.supported',
    title: 'Web app runs a language runtime that is still supported',
    severity: 'high',
    resourceTypes: APPS,
    reads: ['config/web.linuxFxVersion', 'config/web.windowsFxVersion', 'config/web.netFrameworkVersion', 'config/web.nodeVersion', 'config/web.phpVersion', 'config/web.pythonVersion'],
    facts: ['siteConfig'],
    evaluate(_r, facts, context) {
      const stacks = endOfLife(needFact(facts, 'siteConfig'), context.now)
      if (stacks.length === 0) return notApplicable('no runtime stack with a published end-of-support date is configured (e.g. a container image)')
      const ended = stacks.filter((s) => s.ended)
      const text = stacks.map((s) => `${s.label} (support ${s.ended ? 'ended' : 'ends'} ${s.endOfSupport})`).join(', ')
      return ended.length === 0 ? pass(text) : fail(text)
    },
    remediation: {text: 'Move the app to a supported runtime version.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --linux-fx-version "NODE|22-lts"`},
    frameworks: {mcsb: ['PV-5'], psrule: ['Azure.AppService.NodeJsVersion', 'Azure.AppService.PHPVersion', 'Azure.AppService.NETVersion']},
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
        (s.logs ?? []).some((l) => l.enabled && (String(l.category).toLowerCase() === 'appservicehttplogs' || l.categoryGroup?.toLowerCase() === 'alllogs')),
      )
      return sending ? pass(`diagnostic setting ${sending.name} sends HTTP logs`) : fail(`${settings.length} diagnostic setting(s), none send AppServiceHTTPLogs`)
    },
    remediation: {
      text: 'Add a diagnostic setting that sends AppServiceHTTPLogs (or allLogs) to Log Analytics.',
      az: 'az monitor diagnostic-settings create --resource <id> --name http-logs --workspace <workspace-id> --logs \'[{"categoryGroup":"allLogs","enabled":true}]\'',
    },
    // CIS Foundations 3.0 §6.1.6 (5.0 §6.1.1.6) is "Ensure that logging for Azure AppService 'HTTP logs' is enabled",
    // the requirement Prowler's app_http_logs_enabled maps to; v6.0 dropped it and its §6.1.1.6 is VNet flow logs
    // (prowler-cloud/prowler prowler/compliance/azure/cis_3.0_azure.json, cis_5.0_azure.json, cis_6.0_azure.json @ 3e000faa).
    frameworks: {cis: ['F3 6.1.6'], mcsb: ['LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15'], defender: ['91a78b24', 'd639b3af']},
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
      // A dedicated path, not the site root: PSRule Azure.AppService.WebProbePath ("Web apps should use a dedicated health
      // check path", `Greater($siteConfig, 'properties.healthCheckPath', 1)`: longer than "/").
      if (String(value).length <= 1) return fail(`healthCheckPath is ${value}: the site root, not a dedicated health endpoint${want ? `; the catalog's healthPath is ${want}` : ''}`)
      if (want && value !== want) return fail(`healthCheckPath is ${value}; the catalog's healthPath is ${want}`)
      return pass(`healthCheckPath is ${value}`)
    },
    remediation: {text: "Set the health check path to the component's healthPath.", az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --generic-configurations '{"healthCheckPath":"/health"}'`},
    frameworks: {mcsb: ['BR-1'], soc2: ['A1.1'], psrule: ['Azure.AppService.WebProbe', 'Azure.AppService.WebProbePath']},
  },
  {
    id: 'app.always_on',
    title: 'Web app Always On is set',
    severity: 'medium',
    resourceTypes: APPS,
    reads: ['kind', 'config/web.alwaysOn'],
    facts: ['siteConfig'],
    evaluate(resource, facts) {
      // PSRule applies Azure.AppService.AlwaysOn to web and API apps only (`-With 'Azure.AppService.IsWebApp',
      // 'Azure.AppService.IsAPIApp'`, rules/Azure.AppService.Rule.ps1): function apps scale on demand (Consumption and
      // Flex plans have no Always On) and Logic Apps follow their plan.
      const other = functionOrLogicApp(resource)
      if (other) return notApplicable(`${other}: Always On is a web app setting`)
      // SiteConfig.alwaysOn: "true if Always On is enabled; otherwise, false" (no default): unset is off, a fail as
      // PSRule reads it (`HasFieldValue(…, 'properties.alwaysOn', $True)`) — it was an error.
      const value = valueAt(needFact(facts, 'siteConfig'), 'alwaysOn')
      if (value === undefined || value === null) return fail('alwaysOn is not set (off)')
      return isTrue(value) ? pass('alwaysOn is true') : fail(`alwaysOn is ${value}`)
    },
    remediation: {text: 'Turn Always On on.', az: `${AZ} config set --resource-group <rg> --name <name> ${SLOT_ARG} --always-on true`},
    frameworks: {soc2: ['A1.1'], psrule: ['Azure.AppService.AlwaysOn']},
  },
  {
    id: 'app.slot.parity',
    title: 'Deployment slot is configured as securely as production',
    severity: 'high',
    resourceTypes: [RESOURCE_TYPES.slot],
    reads: ['properties.httpsOnly', 'properties.publicNetworkAccess', 'identity.type', 'config/web.minTlsVersion', 'config/web.scmMinTlsVersion', 'config/web.ftpsState', 'config/web.remoteDebuggingEnabled', 'config/web.http20Enabled', 'config/web access-restriction default actions'],
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
    frameworks: {mcsb: ['PV-2'], soc2: ['CC8.1'], defender: ['ae1b9a8c', '4ee5b817', 'c285a320', 'a08ae1ab']},
  },
]
