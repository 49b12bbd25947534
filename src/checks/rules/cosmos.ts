/**
 * Azure Cosmos DB checks: its top risks (public network access, minimum TLS, local key auth, backup mode), read from
 * Resource Graph `resources` (database account properties; no per-account calls). Defaults when a property is absent
 * come from cosmos-db.json 2025-10-15 (DatabaseAccountGetProperties): `publicNetworkAccess` Enabled,
 * `disableLocalAuth` false, `backupPolicy` Periodic (the mode an account is created with unless asked otherwise:
 * https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction).
 */
import type {CosmosDbComponent} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {describeSetting, fail, isTrue, pass, readOrDefault} from './helpers.js'

const ACCOUNT = [RESOURCE_TYPES.cosmos]

function cosmosComponent(context: Parameters<CheckRule['evaluate']>[2]): CosmosDbComponent | undefined {
  return context.component?.spec.type === 'cosmosdb' ? context.component.spec : undefined
}

export const cosmosRules: CheckRule[] = [
  {
    id: 'cosmos.net.public_disabled',
    title: 'Cosmos DB public network access is disabled',
    severity: 'high',
    resourceTypes: ACCOUNT,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      // `SecuredByPerimeter` (cosmos-db.json PublicNetworkAccess) lets only the network security perimeter in.
      return /^(disabled|securedbyperimeter)$/i.test(String(setting.value)) ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access and reach the account through a private endpoint.', az: 'az cosmosdb update --resource-group <rg> --name <name> --public-network-access Disabled'},
    // Azure Policy 797b37f7 "Azure Cosmos DB should disable public network access" (publicNetworkAccess notEquals Disabled),
    // Azure/azure-policy built-in-policies/policyDefinitions/Cosmos DB/Cosmos_PrivateNetworkAccess_AuditDeny.json.
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20'], defender: ['797b37f7']},
  },
  {
    id: 'cosmos.tls.min12',
    title: 'Cosmos DB accepts TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: ACCOUNT,
    reads: ['properties.minimalTlsVersion'],
    evaluate(resource) {
      // cosmos-db.json MinimalTlsVersion: Tls (1.0), Tls11, Tls12; Azure enforces 1.2 on accounts that do not say
      // (https://learn.microsoft.com/azure/cosmos-db/self-serve-minimum-tls-enforcement).
      const setting = readOrDefault(resource, 'properties.minimalTlsVersion', 'Tls12')
      const text = describeSetting('minimalTlsVersion', setting)
      return /^tls1[2-9]$/i.test(String(setting.value)) ? pass(text) : fail(`${text}: TLS versions older than 1.2 are accepted`)
    },
    remediation: {text: 'Require TLS 1.2.', az: 'az cosmosdb update --resource-group <rg> --name <name> --minimal-tls-version Tls12'},
    frameworks: {mcsb: ['DP-3'], iso27001: ['A.8.24']},
  },
  {
    id: 'cosmos.auth.local_disabled',
    title: 'Cosmos DB local (key) authentication is disabled: Microsoft Entra ID only',
    severity: 'high',
    resourceTypes: ACCOUNT,
    reads: ['properties.disableLocalAuth'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.disableLocalAuth', false)
      const text = describeSetting('disableLocalAuth', setting)
      return isTrue(setting.value) ? pass(text) : fail(`${text}: the account keys still authorise data access`)
    },
    remediation: {
      text: 'Disable key-based auth and grant Cosmos DB data-plane RBAC roles instead (https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac#disable-local-auth).',
      az: 'az resource update --resource-group <rg> --name <name> --resource-type Microsoft.DocumentDB/databaseAccounts --set properties.disableLocalAuth=true',
    },
    // PSRule.Rules.Azure rules/Azure.Cosmos.Rule.ps1: Azure.Cosmos.DisableLocalAuth (AZR-000420). Azure Policy 5450f5bd "Cosmos DB
    // database accounts should have local authentication methods disabled" (Azure/azure-policy built-in-policies/policyDefinitions/Cosmos DB/Cosmos_DisableLocalAuth_AuditDeny.json);
    // azqr cosmos-008 "CosmosDB should have local authentication disabled" (Azure/azqr internal/graph/azqr/azure-resources/DocumentDB/databaseAccounts/kql/cosmos-008.kql).
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1'], iso27001: ['A.5.17'], psrule: ['Azure.Cosmos.DisableLocalAuth'], defender: ['5450f5bd'], azqr: ['cosmos-008']},
  },
  {
    id: 'cosmos.backup.continuous',
    title: 'Cosmos DB uses continuous backup (point-in-time restore), or geo-redundant periodic backup',
    severity: 'high',
    resourceTypes: ACCOUNT,
    reads: ['properties.backupPolicy.type', 'properties.backupPolicy.periodicModeProperties.backupStorageRedundancy'],
    evaluate(resource, _f, context) {
      const mode = readOrDefault(resource, 'properties.backupPolicy.type', 'Periodic')
      const text = describeSetting('backupPolicy.type', mode)
      const component = cosmosComponent(context)
      if (/^continuous$/i.test(String(mode.value))) {
        const tier = readOrDefault(resource, 'properties.backupPolicy.continuousModeProperties.tier', 'Continuous30Days')
        return pass(`${text} (${tier.value})`)
      }
      // Periodic: restored only by an Azure support request, from backups kept 8 hours by default; a region loss
      // needs geo-redundant backup storage (https://learn.microsoft.com/azure/cosmos-db/periodic-backup-storage-redundancy).
      const redundancy = readOrDefault(resource, 'properties.backupPolicy.periodicModeProperties.backupStorageRedundancy', 'Geo')
      const wantsContinuous = component ? component.backup !== 'periodic' : context.environment.production
      if (wantsContinuous) return fail(`${text}: no point-in-time restore (periodic backups are restored by Azure support only)${component ? `; the catalog says ${component.backup}` : ''}`)
      return /^geo$/i.test(String(redundancy.value))
        ? pass(`${text}, ${describeSetting('backupStorageRedundancy', redundancy)}`)
        : fail(`${text}, ${describeSetting('backupStorageRedundancy', redundancy)}: a region loss loses the backups`)
    },
    remediation: {text: 'Migrate the account to continuous backup (one-way), or keep periodic backups geo-redundant.', az: 'az cosmosdb update --resource-group <rg> --name <name> --backup-policy-type Continuous --continuous-tier Continuous30Days'},
    frameworks: {mcsb: ['BR-1', 'BR-2'], soc2: ['A1.2'], iso27001: ['A.8.13']},
  },
]
