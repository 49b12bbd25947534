/**
 * Storage account checks. Soft delete and versioning live on `blobServices/default`, which Resource Graph does
 * not carry: one ARM GET per account.
 *
 * Unset properties take the default the ARM spec documents (Microsoft.Storage stable/2023-05-01 storage.json,
 * `StorageAccountPropertiesCreateParameters`): ARM omits a property nobody set, so absence is the default, and where
 * that default is insecure the check fails instead of reporting an error.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {approvedPrivateEndpoints, atLeastTls12, describeSetting, fail, isTrue, MissingData, needFact, notApplicable, pass, read, readOrDefault, valueAt} from './helpers.js'

const ST = [RESOURCE_TYPES.storage]
const AZ = 'az storage account'
const DAY_MS = 86_400_000
/** CIS F6 9.3.1.2 / Defender: account keys regenerated at least every 90 days. */
export const STORAGE_KEY_MAX_AGE_DAYS = 90

function flagRule(options: {
  id: string
  title: string
  severity: CheckRule['severity']
  path: string
  want: boolean
  /** The value ARM's spec documents for an unset property (see the file comment). */
  armDefault: boolean
  remediation: CheckRule['remediation']
  frameworks: CheckRule['frameworks']
}): CheckRule {
  const name = options.path.split('.').pop()!
  return {
    id: options.id,
    title: options.title,
    severity: options.severity,
    resourceTypes: ST,
    reads: [options.path],
    evaluate(resource) {
      const setting = readOrDefault(resource, options.path, options.armDefault)
      const value = isTrue(setting.value)
      const text = describeSetting(name, {value, defaulted: setting.defaulted})
      return value === options.want ? pass(text) : fail(text)
    },
    remediation: options.remediation,
    frameworks: options.frameworks,
  }
}

/**
 * Account kinds without a blob or a file service ("Storage account overview", learn.microsoft.com/azure/storage/common/storage-account-overview:
 * FileStorage is premium file shares only, BlockBlobStorage premium block and append blobs only). PSRule skips them
 * the same way (Azure.Storage.SoftDelete / ContainerSoftDelete `-If { … !(IsFileStorage) }`, rules/Azure.Storage.Rule.ps1);
 * their blob/file service reads would only fail, so the checks are not applicable and nothing is read.
 */
const NO_BLOB_SERVICE = 'filestorage'
const NO_FILE_SERVICE = 'blockblobstorage'
const kindOf = (resource: {kind?: string}) => String(resource.kind ?? '').toLowerCase()

/** Blob service settings: an absent policy is Azure's default, disabled (blob.json `BlobServicePropertiesProperties`). */
function blobPolicy(service: unknown, path: string): {enabled: boolean; days?: number} {
  const policy = valueAt(service, path)
  if (policy === undefined || policy === null) return {enabled: false}
  const enabled = isTrue(valueAt(policy, 'enabled'))
  if (!enabled) return {enabled}
  const days = Number(valueAt(policy, 'days'))
  if (!Number.isFinite(days)) throw new MissingData(`blobServices/default.${path}.days is not a number`)
  return {enabled, days}
}

export const storageRules: CheckRule[] = [
  flagRule({
    id: 'st.secure_transfer',
    title: 'Storage requires secure transfer (HTTPS only)',
    severity: 'high',
    path: 'properties.supportsHttpsTrafficOnly',
    want: true,
    // "Default value is true since API version 2019-04-01."
    armDefault: true,
    remediation: {text: 'Require secure transfer.', az: `${AZ} update --resource-group <rg> --name <name> --https-only true`},
    frameworks: {cis: ['F6 9.3.4'], mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24'], psrule: ['Azure.Storage.SecureTransfer'], defender: ['404c3081'], azqr: ['st-007']},
  }),
  {
    id: 'st.tls.min12',
    title: 'Storage accepts TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: ST,
    reads: ['properties.minimumTlsVersion'],
    evaluate(resource) {
      // "The default interpretation is TLS 1.0 for this property."
      const setting = readOrDefault(resource, 'properties.minimumTlsVersion', 'TLS1_0')
      const text = describeSetting('minimumTlsVersion', setting)
      return atLeastTls12(setting.value, 'minimumTlsVersion') ? pass(text) : fail(text)
    },
    remediation: {text: 'Set the minimum TLS version to TLS1_2.', az: `${AZ} update --resource-group <rg> --name <name> --min-tls-version TLS1_2`},
    frameworks: {cis: ['F6 9.3.6'], mcsb: ['DP-3'], psrule: ['Azure.Storage.MinTLS'], defender: ['fe83a0eb'], azqr: ['st-009']},
  },
  flagRule({
    id: 'st.blob.anon_off',
    title: 'Storage disallows anonymous blob access',
    severity: 'high',
    path: 'properties.allowBlobPublicAccess',
    want: false,
    // "The default interpretation is false for this property."
    armDefault: false,
    remediation: {text: 'Disallow blob public access.', az: `${AZ} update --resource-group <rg> --name <name> --allow-blob-public-access false`},
    frameworks: {cis: ['F6 9.3.8'], mcsb: ['NS-2'], soc2: ['CC6.1'], iso27001: ['A.5.15'], psrule: ['Azure.Storage.BlobPublicAccess', 'Azure.Storage.BlobAccessType'], defender: ['4fa4b6c0']},
  }),
  flagRule({
    id: 'st.shared_key.off',
    title: 'Storage disallows shared-key (account key) authorization',
    severity: 'high',
    path: 'properties.allowSharedKeyAccess',
    want: false,
    // "The default value is null, which is equivalent to true."
    armDefault: true,
    remediation: {text: 'Disallow shared-key access and use Microsoft Entra.', az: `${AZ} update --resource-group <rg> --name <name> --allow-shared-key-access false`},
    frameworks: {cis: ['F6 9.3.1.3'], mcsb: ['IM-1'], soc2: ['CC6.1'], psrule: ['Azure.Storage.LocalAuth'], defender: ['8c6a50c6']},
  }),
  flagRule({
    id: 'st.entra_default',
    title: 'Storage defaults to Microsoft Entra authorization in the Azure portal',
    severity: 'medium',
    path: 'properties.defaultToOAuthAuthentication',
    want: true,
    // "The default interpretation is false for this property."
    armDefault: false,
    remediation: {text: 'Default to Microsoft Entra authorization.', az: `${AZ} update --resource-group <rg> --name <name> --set properties.defaultToOAuthAuthentication=true`},
    // CIS v6.0 §9.3.3.1 (Prowler cis_6.0_azure.json @ 3e000faa, storage_default_to_entra_authorization_enabled).
    frameworks: {cis: ['F6 9.3.3.1'], mcsb: ['IM-1']},
  }),
  {
    id: 'st.net.public_disabled',
    title: 'Storage public network access is disabled',
    severity: 'high',
    resourceTypes: ST,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      // Unset means public access is governed by the network rules only, i.e. enabled.
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      return String(setting.value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access and use private endpoints.', az: `${AZ} update --resource-group <rg> --name <name> --public-network-access Disabled`},
    frameworks: {cis: ['F6 9.3.2.2'], mcsb: ['NS-2'], soc2: ['CC6.6'], defender: ['b2982f36']},
  },
  {
    id: 'st.net.restricted',
    title: 'Storage firewall denies by default (or public access is disabled)',
    severity: 'high',
    resourceTypes: ST,
    reads: ['properties.publicNetworkAccess', 'properties.networkAcls.defaultAction'],
    evaluate(resource) {
      const access = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      if (String(access.value).toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      // networkAcls.defaultAction: "Specifies the default action of allow or deny when no other rules match" — Allow when unset.
      const action = readOrDefault(resource, 'properties.networkAcls.defaultAction', 'Allow')
      return String(action.value).toLowerCase() === 'deny'
        ? pass('networkAcls.defaultAction is Deny')
        : fail(`${describeSetting('publicNetworkAccess', access)} and ${describeSetting('networkAcls.defaultAction', action)}`)
    },
    remediation: {text: 'Set the default network action to Deny (or disable public access).', az: `${AZ} update --resource-group <rg> --name <name> --default-action Deny`},
    frameworks: {cis: ['F6 9.3.2.3'], mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20'], psrule: ['Azure.Storage.Firewall'], defender: ['34c877ad']},
  },
  {
    id: 'st.trusted_services',
    title: 'Storage firewall lets trusted Microsoft services through (bypass AzureServices)',
    severity: 'low',
    resourceTypes: ST,
    reads: ['properties.networkAcls.bypass'],
    evaluate(resource) {
      // NetworkRuleSet.bypass: "any combination of Logging|Metrics|AzureServices … or None", "default": "AzureServices"
      // (storage.json 2023-05-01). CIS v6.0 §9.3.5 "Allow trusted Microsoft services to access this resource"; Prowler's
      // storage_ensure_azure_services_are_trusted_to_access_is_enabled fails when "AzureServices" is not in bypass.
      const setting = readOrDefault(resource, 'properties.networkAcls.bypass', 'AzureServices')
      const text = describeSetting('networkAcls.bypass', setting)
      const values = String(setting.value).split(',').map((v) => v.trim().toLowerCase())
      return values.includes('azureservices') ? pass(text) : fail(`${text}: Azure Backup, Monitor and other trusted services are blocked by the firewall`)
    },
    remediation: {text: 'Let trusted Microsoft services bypass the storage firewall.', az: `${AZ} update --resource-group <rg> --name <name> --bypass AzureServices`},
    frameworks: {cis: ['F6 9.3.5'], mcsb: ['NS-2']},
  },
  {
    id: 'st.net.private_endpoint',
    title: 'Storage has an approved private endpoint',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.privateEndpointConnections'],
    evaluate(resource) {
      if (!resource.properties) throw new MissingData('properties is absent')
      // Storage returns privateEndpointConnections on the account (storage.json StorageAccountProperties); absent = none.
      const approved = approvedPrivateEndpoints(valueAt(resource, 'properties.privateEndpointConnections') ?? [])
      return approved > 0 ? pass(`${approved} approved private endpoint(s)`) : fail('no approved private endpoint')
    },
    remediation: {
      text: 'Add a private endpoint for the account (group id blob, and file/queue/table as used).',
      az: 'az network private-endpoint create --resource-group <rg> --name <pe> --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id <account-id> --group-id blob --connection-name <name>',
    },
    frameworks: {cis: ['F6 9.3.2.1'], mcsb: ['NS-2'], defender: ['6edd7eda']},
  },
  flagRule({
    id: 'st.xtenant_repl.off',
    title: 'Storage disallows cross-tenant object replication',
    severity: 'high',
    path: 'properties.allowCrossTenantReplication',
    want: false,
    // "The default interpretation is false for new accounts to follow best security practices by default."
    armDefault: false,
    remediation: {text: 'Disallow cross-tenant replication.', az: `${AZ} update --resource-group <rg> --name <name> --allow-cross-tenant-replication false`},
    frameworks: {cis: ['F6 9.3.7'], defender: ['92a89a79']},
  }),
  {
    id: 'st.key_expiry',
    title: 'Storage has a key expiration policy of 90 days or less (key rotation reminders)',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.keyPolicy.keyExpirationPeriodInDays'],
    evaluate(resource) {
      // ARM omits keyPolicy when none is set: that is a known "no policy", a fail (never a pass).
      const policy = readOrDefault(resource, 'properties.keyPolicy', null)
      if (policy.defaulted) return fail('no key expiration policy')
      const days = Number(read(resource, 'properties.keyPolicy.keyExpirationPeriodInDays'))
      return days <= 90 ? pass(`keyExpirationPeriodInDays is ${days}`) : fail(`keyExpirationPeriodInDays is ${days} (more than 90)`)
    },
    remediation: {text: 'Set a key expiration policy of 90 days or less.', az: `${AZ} update --resource-group <rg> --name <name> --key-exp-days 90`},
    // CIS F6 9.3.1.1 "Enable key rotation reminders" is the expiration policy; 9.3.1.2 (regeneration) is st.keys.regenerated.
    frameworks: {cis: ['F6 9.3.1.1'], mcsb: ['IM-8'], defender: ['044985bb']},
  },
  {
    id: 'st.keys.regenerated',
    title: `Storage account keys were regenerated within ${STORAGE_KEY_MAX_AGE_DAYS} days`,
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.keyCreationTime.key1', 'properties.keyCreationTime.key2'],
    evaluate(resource, _f, context) {
      // Evaluated even with shared-key access off: the keys still exist and work again if it is turned back on.
      if (!resource.properties) throw new MissingData('properties is absent')
      const created = valueAt(resource, 'properties.keyCreationTime')
      const ages = (['key1', 'key2'] as const).map((key) => {
        const at = Date.parse(String(valueAt(created, key) ?? ''))
        // keyCreationTime is null on accounts created before it was recorded: the key's age is unknown → treat as old.
        return {key, days: Number.isFinite(at) ? Math.floor((context.now.getTime() - at) / DAY_MS) : undefined}
      })
      const stale = ages.filter((a) => a.days === undefined || a.days > STORAGE_KEY_MAX_AGE_DAYS)
      const text = ages.map((a) => `${a.key} ${a.days === undefined ? 'creation time unknown' : `${a.days} days old`}`).join(', ')
      return stale.length === 0 ? pass(text) : fail(text)
    },
    remediation: {text: 'Regenerate both account keys (one at a time, after moving clients to the other).', az: `${AZ} keys renew --resource-group <rg> --account-name <name> --key primary`},
    frameworks: {cis: ['F6 9.3.1.2'], mcsb: ['IM-8']},
  },
  {
    id: 'st.sas_policy',
    title: 'Storage has a SAS expiration policy',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.sasPolicy.sasExpirationPeriod'],
    evaluate(resource) {
      const policy = readOrDefault(resource, 'properties.sasPolicy', null)
      if (policy.defaulted) return fail('no SAS expiration policy')
      const period = read(resource, 'properties.sasPolicy.sasExpirationPeriod')
      const action = valueAt(resource, 'properties.sasPolicy.expirationAction') ?? 'Log'
      return pass(`SAS expiration period ${period} (action ${action})`)
    },
    remediation: {text: 'Set a SAS expiration policy (e.g. 1 day, action Block).', az: `${AZ} update --resource-group <rg> --name <name> --sas-exp 1.00:00:00`},
    // Azure Policy 7aa1c9d5 "Storage SAS tokens should adhere to 7 day maximum validity" reads the same sasPolicy but also fails
    // periods over 7 days (Azure/azure-policy built-in-policies/policyDefinitions/Storage/EnforceStorageSasMaxExpiration7Days_Deny.json).
    // No CIS v6.0 control asks for a SAS expiration policy (§9.3.5 is "Allow trusted Microsoft services"); v3.0 §4.5
    // "Shared Access Signature Tokens Expire Within an Hour" is stricter than any policy passes here, so none is cited
    // (Prowler cis_3.0_azure.json / cis_6.0_azure.json @ 3e000faa).
    frameworks: {mcsb: ['IM-8'], defender: ['7aa1c9d5']},
  },
  {
    id: 'st.replication',
    title: 'Production storage replicates across zones (ZRS, GZRS or RA-GZRS)',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['sku.name'],
    evaluate(resource, _f, context) {
      if (!context.environment.production) return notApplicable('not a production environment')
      const sku = valueAt(resource, 'sku.name')
      if (sku === undefined || sku === null) throw new MissingData('sku.name is absent')
      return /zrs$/i.test(String(sku)) ? pass(`sku is ${sku}`) : fail(`sku is ${sku}: not zone-redundant`)
    },
    remediation: {text: 'Convert the account to ZRS or GZRS.', az: `${AZ} migration start --resource-group <rg> --account-name <name> --sku Standard_GZRS --no-wait`},
    // No azqr id: st-001 is "Storage should have diagnostic settings enabled" and st-003 only reports the SLA.
    // Not PSRule's Azure.Storage.UseReplication: that one asks for a second region (st.geo_replication).
    frameworks: {mcsb: ['BR-1']},
  },
  {
    id: 'st.geo_replication',
    title: 'Production Standard storage replicates to a second region (GRS, RA-GRS, GZRS or RA-GZRS)',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['sku.name', 'tags', 'properties.largeFileSharesState'],
    evaluate(resource, _f, context) {
      if (!context.environment.production) return notApplicable('not a production environment')
      const sku = valueAt(resource, 'sku.name')
      if (sku === undefined || sku === null) throw new MissingData('sku.name is absent')
      // PSRule Azure.Storage.UseReplication (rules/Azure.Storage.Rule.ps1): sku.name in Standard_GRS, Standard_RAGRS,
      // Standard_GZRS, Standard_RAGZRS, for Standard accounts that are not Cloud Shell, Functions or Azure Monitor
      // storage (tags ms-resource-usage / resource-usage) and have no large file shares (ShouldStorageReplicate).
      if (!/^standard_/i.test(String(sku))) return notApplicable(`sku is ${sku}: geo-replication applies to Standard accounts`)
      const tags = Object.fromEntries(Object.entries(resource.tags ?? {}).map(([k, v]) => [k.toLowerCase(), String(v).toLowerCase()]))
      const usage = tags['ms-resource-usage'] === 'azure-cloud-shell' ? 'Cloud Shell' : tags['resource-usage'] === 'azure-functions' ? 'Azure Functions' : tags['resource-usage'] === 'azure-monitor' ? 'Azure Monitor' : undefined
      if (usage) return notApplicable(`${usage} storage (tagged as such)`)
      if (String(valueAt(resource, 'properties.largeFileSharesState')).toLowerCase() === 'enabled') return notApplicable('large file shares are enabled (not available with geo-redundant storage)')
      return /^standard_(ra)?g(z)?rs$/i.test(String(sku)) ? pass(`sku is ${sku}`) : fail(`sku is ${sku}: no copy in a second region`)
    },
    remediation: {text: 'Convert the account to GZRS (or GRS).', az: `${AZ} update --resource-group <rg> --name <name> --sku Standard_GZRS`},
    frameworks: {mcsb: ['BR-2'], psrule: ['Azure.Storage.UseReplication']},
  },
  {
    id: 'st.blob.soft_delete',
    title: 'Blob and container soft delete are on for at least 7 days',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['blobServices/default.deleteRetentionPolicy', 'blobServices/default.containerDeleteRetentionPolicy'],
    facts: ['blobService'],
    needsFacts: (resource) => kindOf(resource) !== NO_BLOB_SERVICE,
    evaluate(resource, facts) {
      if (kindOf(resource) === NO_BLOB_SERVICE) return notApplicable('a FileStorage account has no blob service')
      const service = needFact(facts, 'blobService')
      const describe = (label: string, path: string): {ok: boolean; text: string} => {
        const policy = blobPolicy(service, path)
        if (!policy.enabled) return {ok: false, text: `${label} soft delete off`}
        return {ok: policy.days! >= 7, text: `${label} soft delete ${policy.days} days`}
      }
      const blob = describe('blob', 'deleteRetentionPolicy')
      const container = describe('container', 'containerDeleteRetentionPolicy')
      const text = `${blob.text}, ${container.text}`
      return blob.ok && container.ok ? pass(text) : fail(text)
    },
    remediation: {
      text: 'Enable blob and container soft delete for at least 7 days.',
      az: 'az storage account blob-service-properties update --resource-group <rg> --account-name <name> --enable-delete-retention true --delete-retention-days 7 --enable-container-delete-retention true --container-delete-retention-days 7',
    },
    frameworks: {cis: ['F6 9.2.1', 'F6 9.2.2'], mcsb: ['DP-8'], soc2: ['A1.2'], iso27001: ['A.8.13'], psrule: ['Azure.Storage.SoftDelete', 'Azure.Storage.ContainerSoftDelete']},
  },
  {
    id: 'st.file.soft_delete',
    title: 'File share soft delete is on for at least 7 days',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['fileServices/default.shareDeleteRetentionPolicy'],
    facts: ['fileService'],
    needsFacts: (resource) => kindOf(resource) !== NO_FILE_SERVICE,
    evaluate(resource, facts) {
      if (kindOf(resource) === NO_FILE_SERVICE) return notApplicable('a BlockBlobStorage account has no file service')
      const policy = blobPolicy(needFact(facts, 'fileService'), 'shareDeleteRetentionPolicy')
      if (!policy.enabled) return fail('share soft delete off')
      return policy.days! >= 7 ? pass(`share soft delete ${policy.days} days`) : fail(`share soft delete ${policy.days} days (fewer than 7)`)
    },
    remediation: {
      text: 'Enable file share soft delete for at least 7 days.',
      az: 'az storage account file-service-properties update --resource-group <rg> --account-name <name> --enable-delete-retention true --delete-retention-days 7',
    },
    frameworks: {mcsb: ['DP-8'], psrule: ['Azure.Storage.FileShareSoftDelete']},
  },
  {
    id: 'st.blob.versioning',
    title: 'Blob versioning is on',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['blobServices/default.isVersioningEnabled'],
    facts: ['blobService'],
    needsFacts: (resource) => kindOf(resource) !== NO_BLOB_SERVICE,
    evaluate(resource, facts) {
      if (kindOf(resource) === NO_BLOB_SERVICE) return notApplicable('a FileStorage account has no blob service')
      const service = needFact(facts, 'blobService')
      // Absent: versioning was never turned on (blob.json: "Versioning is enabled if set to true").
      const value = valueAt(service, 'isVersioningEnabled')
      return isTrue(value) ? pass('isVersioningEnabled is true') : fail(`isVersioningEnabled is ${value ?? 'not set (Azure\'s default: false)'}`)
    },
    remediation: {text: 'Enable blob versioning.', az: 'az storage account blob-service-properties update --resource-group <rg> --account-name <name> --enable-versioning true'},
    frameworks: {cis: ['F6 9.2.3'], mcsb: ['DP-8']},
  },
]
