/**
 * Checks across services: audit diagnostic settings, Defender for Cloud plans, and App Service plans.
 */
import {ALL_RESOURCE_TYPES, DEFENDER_ARM_RULE, DEFENDER_RULE, RESOURCE_TYPES, type CatalogContext, type CheckRule, type ResourceType} from '../types.js'
import {fail, MissingData, needFact, notApplicable, pass, valueAt} from './helpers.js'

type DiagnosticSetting = {name: string; logs?: Array<{category?: string; categoryGroup?: string; enabled?: boolean}>}

/**
 * Log categories that carry audit/security events per type (Azure Monitor "Supported categories for Azure Monitor
 * resource logs"); the `audit` and `allLogs` category groups count for every type.
 */
const AUDIT_CATEGORIES: Partial<Record<ResourceType, string[]>> = {
  [RESOURCE_TYPES.postgres]: ['PostgreSQLLogs'],
  [RESOURCE_TYPES.redis]: ['ConnectedClientList', 'MSEntraAuthenticationAuditLog'],
  [RESOURCE_TYPES.site]: ['AppServiceAuditLogs', 'AppServiceIPSecAuditLogs'],
  [RESOURCE_TYPES.slot]: ['AppServiceAuditLogs', 'AppServiceIPSecAuditLogs'],
}
const STORAGE_AUDIT = ['StorageRead', 'StorageWrite', 'StorageDelete']

/** The first setting that sends an audit category (or the audit/allLogs group), if any. */
function auditSetting(settings: DiagnosticSetting[], categories: string[]): DiagnosticSetting | undefined {
  const wanted = new Set(categories.map((c) => c.toLowerCase()))
  return settings.find((s) =>
    (s.logs ?? []).some((l) => l.enabled && (wanted.has(String(l.category).toLowerCase()) || ['audit', 'alllogs'].includes(String(l.categoryGroup).toLowerCase()))),
  )
}

/** Defender plan (`microsoft.security/pricings` name) that protects each type. */
const DEFENDER_PLAN: Partial<Record<ResourceType, string>> = {
  [RESOURCE_TYPES.postgres]: 'OpenSourceRelationalDatabases',
  [RESOURCE_TYPES.site]: 'AppServices',
  [RESOURCE_TYPES.slot]: 'AppServices',
  [RESOURCE_TYPES.storage]: 'StorageAccounts',
  [RESOURCE_TYPES.keyvault]: 'KeyVaults',
}

/** Whether Defender plan `plan` of the resource's subscription is Standard; unreadable plans are `error`. */
function planOnStandard(context: CatalogContext, plan: string) {
  const plans = context.defenderPlans
  if (!plans) throw new MissingData('Defender plans were not collected')
  if (!plans.ok) throw new MissingData(`Defender plans could not be read: ${plans.error}`)
  // An absent pricing means the plan was never enabled: Free (Defender for Cloud "Pricings - List").
  const tier = plans.value[plan.toLowerCase()] ?? 'Free'
  return tier.toLowerCase() === 'standard' ? pass(`Defender plan ${plan} is Standard`) : fail(`Defender plan ${plan} is ${tier}`)
}

export const platformRules: CheckRule[] = [
  {
    id: 'logs.audit',
    title: 'Audit and security logs go to a diagnostic setting',
    severity: 'medium',
    resourceTypes: [RESOURCE_TYPES.postgres, RESOURCE_TYPES.redis, RESOURCE_TYPES.site, RESOURCE_TYPES.slot],
    reads: ['diagnosticSettings[*].logs[audit categories | categoryGroup=audit|allLogs]'],
    facts: ['diagnosticSettings'],
    evaluate(resource, facts) {
      const settings = needFact(facts, 'diagnosticSettings') as DiagnosticSetting[]
      const categories = AUDIT_CATEGORIES[resource.type] ?? []
      const sending = auditSetting(settings, categories)
      return sending
        ? pass(`diagnostic setting ${sending.name} sends audit logs`)
        : fail(`${settings.length} diagnostic setting(s), none send ${[...categories, 'the audit or allLogs group'].join(', ')}`)
    },
    remediation: {
      text: 'Add a diagnostic setting that sends the audit category group to Log Analytics.',
      az: 'az monitor diagnostic-settings create --resource <id> --name audit --workspace <workspace-id> --logs \'[{"categoryGroup":"audit","enabled":true}]\'',
    },
    // azqr psqlf-001 / redis-001 / app-001 "… should have diagnostic settings enabled" (Azure/azqr
    // internal/scanners/diagnostics_settings.go): any diagnostic setting on the resource; this check also wants the audit categories.
    // CIS v6.0 §6.1.4 "Ensure that Azure Monitor Resource Logging is Enabled for All Services that Support it" (§6.1.1.1
    // is the subscription Activity Log's setting; Prowler cis_6.0_azure.json @ 3e000faa).
    frameworks: {cis: ['F6 6.1.4'], mcsb: ['LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15'], azqr: ['psqlf-001', 'redis-001', 'app-001']},
  },
  {
    id: 'st.logs.audit',
    title: 'Storage blob, queue, table and file services log reads, writes and deletes',
    severity: 'medium',
    resourceTypes: [RESOURCE_TYPES.storage],
    reads: ['{blob,queue,table,file}Services/default diagnosticSettings[*].logs[StorageRead|StorageWrite|StorageDelete | categoryGroup=audit|allLogs]'],
    facts: ['storageServiceDiagnostics'],
    evaluate(_r, facts) {
      const byService = needFact(facts, 'storageServiceDiagnostics') as Record<string, DiagnosticSetting[]>
      const missing = Object.entries(byService).filter(([, settings]) => !auditSetting(settings, STORAGE_AUDIT)).map(([service]) => service.replace(/Services$/, ''))
      return missing.length === 0 ? pass('blob, queue, table and file services send audit logs') : fail(`no audit logging for ${missing.join(', ')}`)
    },
    remediation: {
      text: 'Add a diagnostic setting with the audit category group on each storage service (blobServices/default, …).',
      az: 'az monitor diagnostic-settings create --resource <account-id>/blobServices/default --name audit --workspace <workspace-id> --logs \'[{"categoryGroup":"audit","enabled":true}]\'',
    },
    frameworks: {mcsb: ['LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15']},
  },
  {
    id: DEFENDER_RULE,
    title: 'Microsoft Defender for Cloud protects this kind of resource (plan on Standard)',
    severity: 'high',
    resourceTypes: [RESOURCE_TYPES.postgres, RESOURCE_TYPES.site, RESOURCE_TYPES.slot, RESOURCE_TYPES.storage, RESOURCE_TYPES.keyvault],
    reads: ['securityresources microsoft.security/pricings/{plan}.properties.pricingTier'],
    evaluate(resource, _f, context) {
      return planOnStandard(context, DEFENDER_PLAN[resource.type]!)
    },
    remediation: {text: 'Enable the Defender for Cloud plan for this resource type.', az: 'az security pricing create --name <plan> --tier Standard'},
    frameworks: {
      // CIS v6.0: 8.1.5.1 Storage, 8.1.6.1 App Services, 8.1.7.2 open-source relational databases, 8.1.8.1 Key Vault
      // (Prowler cis_6.0_azure.json @ 3e000faa: defender_ensure_defender_for_{storage,app_services,os_relational_databases,keyvault}_is_on).
      cis: ['F6 8.1.5.1', 'F6 8.1.6.1', 'F6 8.1.7.2', 'F6 8.1.8.1'],
      mcsb: ['LT-1'],
      psrule: ['Azure.Defender.AppServices', 'Azure.Defender.Storage', 'Azure.Defender.KeyVault', 'Azure.Defender.OssRdb', 'Azure.PostgreSQL.DefenderCloud', 'Azure.Storage.DefenderCloud'],
      // Azure Policy AuditIfNotExists on Microsoft.Security/pricings pricingTier Standard: 2913021d AppServices, 0a9fbe0d
      // OpenSourceRelationalDatabases, 640d2586 StorageAccounts, 0e6763cc KeyVaults
      // (Azure/azure-policy built-in-policies/policyDefinitions/Security Center/ASC_EnableAdvancedThreatProtectionOnAppServices_Audit.json and siblings).
      defender: ['2913021d', '0a9fbe0d', '640d2586', '0e6763cc'],
    },
  },
  {
    id: DEFENDER_ARM_RULE,
    title: "Microsoft Defender for Resource Manager watches the resource's subscription (plan Arm on Standard)",
    severity: 'high',
    // The plan covers every management operation in the subscription; reported on each resource so a fleet scan
    // shows which subscriptions lack it (slots are covered by their site's finding).
    resourceTypes: ALL_RESOURCE_TYPES.filter((t) => t !== RESOURCE_TYPES.slot),
    reads: ['securityresources microsoft.security/pricings/Arm.properties.pricingTier'],
    evaluate(_r, _f, context) {
      // The pricing is named `Arm`: built-in policy b7021b2b "Configure Azure Defender for Resource Manager to be
      // enabled" deploys Microsoft.Security/pricings `Arm` with pricingTier Standard; the audit twin is c3d20c29.
      return planOnStandard(context, 'Arm')
    },
    remediation: {text: 'Enable Defender for Resource Manager on the subscription.', az: 'az security pricing create --name Arm --tier Standard'},
    // CIS v6.0 §8.1.9.1 "Ensure That Microsoft Defender for Resource Manager Is Set To 'On'" (Prowler cis_6.0_azure.json
    // @ 3e000faa, defender_ensure_defender_for_arm_is_on; §8.1.8.1 is Key Vault).
    frameworks: {cis: ['F6 8.1.9.1'], mcsb: ['LT-1'], defender: ['c3d20c29']},
  },
  {
    id: 'app.plan.zone_redundant',
    title: 'Production App Service plan is zone-redundant',
    severity: 'medium',
    resourceTypes: [RESOURCE_TYPES.plan],
    reads: ['properties.zoneRedundant'],
    evaluate(resource, _f, context) {
      if (!context.environment.production) return notApplicable('not a production environment')
      if (!resource.properties) throw new MissingData('properties is absent')
      // AppServicePlan.zoneRedundant: "If true, this App Service Plan will perform availability zone balancing." Default false.
      const zoneRedundant = valueAt(resource, 'properties.zoneRedundant') === true
      return zoneRedundant ? pass('zoneRedundant is true') : fail('zoneRedundant is not true')
    },
    remediation: {text: 'Enable zone redundancy on the plan (Premium v2/v3, at least 2 instances).', az: 'az appservice plan update --resource-group <rg> --name <plan> --set zoneRedundant=true'},
    frameworks: {mcsb: ['BR-1'], psrule: ['Azure.AppService.AvailabilityZone']},
  },
  {
    id: 'app.plan.instances',
    title: 'Production App Service plan runs at least 2 instances on Standard or better',
    severity: 'medium',
    resourceTypes: [RESOURCE_TYPES.plan],
    reads: ['sku.capacity', 'sku.tier', 'sku.name', 'kind'],
    evaluate(resource, _f, context) {
      if (!context.environment.production) return notApplicable('not a production environment')
      // Consumption and Elastic Premium plans scale their own instances: PSRule skips them (Azure.AppService.PlanInstanceCount
      // `-If { !(IsConsumptionPlan) -and !(IsElasticPlan) }`: sku Y1 / tier Dynamic, sku EP* / tier ElasticPremium / kind
      // elastic, rules/Azure.AppService.Rule.ps1; MinPlan's selector Azure.AppService.NotElastic the same). Flex
      // Consumption (tier FlexConsumption) is the newer consumption plan.
      const skuName = String(valueAt(resource, 'sku.name') ?? '').toUpperCase()
      const skuTier = String(valueAt(resource, 'sku.tier') ?? '').toLowerCase()
      if (skuName === 'Y1' || skuName.startsWith('EP') || ['dynamic', 'elasticpremium', 'flexconsumption'].includes(skuTier) || String(resource.kind ?? '').toLowerCase() === 'elastic')
        return notApplicable(`a ${valueAt(resource, 'sku.tier') ?? skuName} plan scales its own instances`)
      const capacity = Number(valueAt(resource, 'sku.capacity'))
      const tier = valueAt(resource, 'sku.tier')
      if (!Number.isFinite(capacity) || tier === undefined) throw new MissingData('sku.capacity or sku.tier is absent')
      const lowTier = ['free', 'shared', 'basic'].includes(String(tier).toLowerCase())
      const text = `${capacity} instance(s) on ${tier}`
      return capacity >= 2 && !lowTier ? pass(text) : fail(text)
    },
    remediation: {text: 'Scale the plan to Standard or better with at least 2 instances.', az: 'az appservice plan update --resource-group <rg> --name <plan> --sku P1v3 --number-of-workers 2'},
    frameworks: {mcsb: ['BR-1'], psrule: ['Azure.AppService.PlanInstanceCount', 'Azure.AppService.MinPlan']},
  },
]
