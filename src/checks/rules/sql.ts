/**
 * Azure SQL Database and Service Bus checks: their top risks (public network access, TLS minimum, Entra-only / no
 * local auth, backup redundancy), all read from Resource Graph `resources` (server, database and namespace
 * properties; no per-resource calls). Defaults when a property is absent come from the specs the emulator vendors:
 * Servers.json — `publicNetworkAccess` unset means Enabled, `minimalTlsVersion` unset or `None` accepts every TLS
 * version (https://learn.microsoft.com/azure/azure-sql/database/connectivity-settings#minimal-tls-version);
 * Service Bus namespaces.json 2021-11-01 — `publicNetworkAccess` default Enabled, `disableLocalAuth` default false.
 */
import type {SqlDatabaseComponent} from '../../catalog/schema.js'
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {atLeastTls12, describeSetting, fail, isTrue, notApplicable, pass, readOrDefault} from './helpers.js'

const SERVER = [RESOURCE_TYPES.sqlServer]
const DATABASE = [RESOURCE_TYPES.sqlDatabase]
const NAMESPACE = [RESOURCE_TYPES.serviceBus]

function publicAccessRule(id: string, title: string, types: CheckRule['resourceTypes'], az: string, frameworks: CheckRule['frameworks']): CheckRule {
  return {
    id,
    title,
    severity: 'high',
    resourceTypes: types,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      return String(setting.value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access and reach it through a private endpoint.', az},
    frameworks,
  }
}

function tlsRule(id: string, title: string, types: CheckRule['resourceTypes'], path: string, az: string, frameworks: CheckRule['frameworks']): CheckRule {
  const label = path.split('.').pop()!
  return {
    id,
    title,
    severity: 'high',
    resourceTypes: types,
    reads: [path],
    evaluate(resource) {
      const setting = readOrDefault(resource, path, 'None')
      // SQL's `None` (and an unset value) accepts TLS 1.0 and 1.1: a fail, not unreadable data.
      if (String(setting.value).toLowerCase() === 'none') return fail(`${describeSetting(label, setting)}: every TLS version is accepted`)
      return atLeastTls12(setting.value, label) ? pass(describeSetting(label, setting)) : fail(describeSetting(label, setting))
    },
    remediation: {text: 'Require TLS 1.2 or newer.', az},
    frameworks,
  }
}

function sqlComponent(context: Parameters<CheckRule['evaluate']>[2]): SqlDatabaseComponent | undefined {
  return context.component?.spec.type === 'sqldb' ? context.component.spec : undefined
}

export const sqlRules: CheckRule[] = [
  // Defender ids: Azure Policy built-ins "Public network access on Azure SQL Database should be disabled" (1b8ca024),
  // "Azure SQL Database should be running TLS version 1.2 or newer" (32e6bbec), "Azure SQL Database should have
  // Microsoft Entra-only authentication enabled" (abda6d70), "Service Bus Namespaces should disable public network
  // access" (cbd11fd3), "Azure Service Bus namespaces should have local authentication methods disabled" (cfb11c26)
  // — https://learn.microsoft.com/azure/governance/policy/samples/built-in-policies (SQL, Service Bus); b3a22bc9 "Azure SQL Database
  // should have Microsoft Entra-only authentication enabled" (existing servers; abda6d70 is the at-creation twin).
  // azqr sql-008 "SQL should enforce TLS >= 1.2" and sb-008 "Service Bus should have local authentication disabled" (Azure/azqr internal/graph/azqr/azure-resources/Sql/servers,
  // ServiceBus/namespaces kql).
  publicAccessRule('sql.net.public_disabled', 'SQL server public network access is disabled', SERVER, 'az sql server update --resource-group <rg> --name <name> --enable-public-network false', {
    mcsb: ['NS-2'],
    soc2: ['CC6.6'],
    iso27001: ['A.8.20'],
    defender: ['1b8ca024'],
  }),
  tlsRule('sql.tls.min12', 'SQL server accepts TLS 1.2 or newer only', SERVER, 'properties.minimalTlsVersion', 'az sql server update --resource-group <rg> --name <name> --minimal-tls-version 1.2', {
    mcsb: ['DP-3'],
    iso27001: ['A.8.24'],
    psrule: ['Azure.SQL.MinTLS'],
    defender: ['32e6bbec'],
    azqr: ['sql-008'],
  }),
  {
    id: 'sql.auth.entra_only',
    title: 'SQL server allows Microsoft Entra authentication only (no SQL logins)',
    severity: 'high',
    resourceTypes: SERVER,
    reads: ['properties.administrators.azureADOnlyAuthentication'],
    evaluate(resource) {
      // Servers.json ServerExternalAdministrator.azureADOnlyAuthentication; absent administrators: SQL auth is on.
      const setting = readOrDefault(resource, 'properties.administrators.azureADOnlyAuthentication', false)
      const text = describeSetting('azureADOnlyAuthentication', setting)
      return isTrue(setting.value) ? pass(text) : fail(`${text}: SQL logins with passwords are accepted`)
    },
    remediation: {text: 'Enable Microsoft Entra-only authentication (set an Entra admin first).', az: 'az sql server ad-only-auth enable --resource-group <rg> --name <name>'},
    frameworks: {mcsb: ['IM-1'], soc2: ['CC6.1'], iso27001: ['A.5.17'], psrule: ['Azure.SQL.AADOnly'], defender: ['abda6d70', 'b3a22bc9']},
  },
  {
    id: 'sql.backup.redundancy',
    title: 'SQL database backups are geo-redundant in production (or as the catalog says)',
    severity: 'high',
    resourceTypes: DATABASE,
    reads: ['properties.currentBackupStorageRedundancy', 'properties.requestedBackupStorageRedundancy'],
    evaluate(resource, _f, context) {
      if (resource.name.toLowerCase() === 'master' || resource.name.toLowerCase().endsWith('/master')) return notApplicable('the master database has no backups of its own to restore')
      const component = sqlComponent(context)
      const wantsGeo = context.environment.production || component?.objectives?.crossRegion === true || /geo/i.test(component?.backupRedundancy ?? '')
      if (!wantsGeo) return notApplicable('not production, and the catalog expects no geo-redundant backup for this database')
      // Databases.json: currentBackupStorageRedundancy (read-only) is what the backups use; requested… is what was asked.
      const setting = readOrDefault(resource, 'properties.currentBackupStorageRedundancy', readOrDefault(resource, 'properties.requestedBackupStorageRedundancy', 'Geo').value)
      const text = describeSetting('currentBackupStorageRedundancy', setting)
      return /^geo/i.test(String(setting.value)) ? pass(text) : fail(`${text}: a region loss cannot be recovered by geo-restore`)
    },
    remediation: {text: 'Use geo-redundant (or geo-zone-redundant) backup storage.', az: 'az sql db update --resource-group <rg> --server <server> --name <name> --backup-storage-redundancy Geo'},
    frameworks: {mcsb: ['BR-2'], soc2: ['A1.2'], iso27001: ['A.8.14']},
  },
  publicAccessRule('sb.net.public_disabled', 'Service Bus public network access is disabled', NAMESPACE, 'az servicebus namespace update --resource-group <rg> --name <name> --public-network-access Disabled', {
    mcsb: ['NS-2'],
    soc2: ['CC6.6'],
    iso27001: ['A.8.20'],
    defender: ['cbd11fd3'],
  }),
  tlsRule('sb.tls.min12', 'Service Bus accepts TLS 1.2 or newer only', NAMESPACE, 'properties.minimumTlsVersion', 'az servicebus namespace update --resource-group <rg> --name <name> --minimum-tls-version 1.2', {
    mcsb: ['DP-3'],
    iso27001: ['A.8.24'],
    psrule: ['Azure.ServiceBus.MinTLS'],
  }),
  {
    id: 'sb.auth.local_disabled',
    title: 'Service Bus local (SAS key) authentication is disabled',
    severity: 'medium',
    resourceTypes: NAMESPACE,
    reads: ['properties.disableLocalAuth'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.disableLocalAuth', false)
      const text = describeSetting('disableLocalAuth', setting)
      return isTrue(setting.value) ? pass(text) : fail(`${text}: shared access keys still work`)
    },
    remediation: {text: 'Disable local authentication; use Microsoft Entra ID and RBAC.', az: 'az servicebus namespace update --resource-group <rg> --name <name> --disable-local-auth true'},
    frameworks: {mcsb: ['IM-1'], iso27001: ['A.5.17'], psrule: ['Azure.ServiceBus.DisableLocalAuth'], defender: ['cfb11c26'], azqr: ['sb-008']},
  },
]
