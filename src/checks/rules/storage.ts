/**
 * Storage account checks. Soft delete and versioning live on `blobServices/default`, which Resource Graph does
 * not carry: one ARM GET per account.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {atLeastTls12, fail, isTrue, MissingData, needFact, pass, read, readIn, valueAt} from './helpers.js'

const ST = [RESOURCE_TYPES.storage]
const AZ = 'az storage account'

function flagRule(options: {
  id: string
  title: string
  severity: CheckRule['severity']
  path: string
  want: boolean
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
      const value = isTrue(read(resource, options.path))
      return value === options.want ? pass(`${name} is ${value}`) : fail(`${name} is ${value}`)
    },
    remediation: options.remediation,
    frameworks: options.frameworks,
  }
}

export const storageRules: CheckRule[] = [
  flagRule({
    id: 'st.secure_transfer',
    title: 'Storage requires secure transfer (HTTPS only)',
    severity: 'high',
    path: 'properties.supportsHttpsTrafficOnly',
    want: true,
    remediation: {text: 'Require secure transfer.', az: `${AZ} update --resource-group <rg> --name <name> --https-only true`},
    frameworks: {cis: ['F6 9.3.4'], mcsb: ['DP-3'], soc2: ['CC6.7'], iso27001: ['A.8.24']},
  }),
  {
    id: 'st.tls.min12',
    title: 'Storage accepts TLS 1.2 or newer only',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.minimumTlsVersion'],
    evaluate(resource) {
      const value = read(resource, 'properties.minimumTlsVersion')
      return atLeastTls12(value, 'minimumTlsVersion') ? pass(`minimumTlsVersion is ${value}`) : fail(`minimumTlsVersion is ${value}`)
    },
    remediation: {text: 'Set the minimum TLS version to TLS1_2.', az: `${AZ} update --resource-group <rg> --name <name> --min-tls-version TLS1_2`},
    frameworks: {cis: ['F6 9.3.6'], mcsb: ['DP-3']},
  },
  flagRule({
    id: 'st.blob.anon_off',
    title: 'Storage disallows anonymous blob access',
    severity: 'high',
    path: 'properties.allowBlobPublicAccess',
    want: false,
    remediation: {text: 'Disallow blob public access.', az: `${AZ} update --resource-group <rg> --name <name> --allow-blob-public-access false`},
    frameworks: {cis: ['F6 9.3.8'], mcsb: ['NS-2'], soc2: ['CC6.1'], iso27001: ['A.5.15']},
  }),
  flagRule({
    id: 'st.shared_key.off',
    title: 'Storage disallows shared-key (account key) authorization',
    severity: 'high',
    path: 'properties.allowSharedKeyAccess',
    want: false,
    remediation: {text: 'Disallow shared-key access and use Microsoft Entra.', az: `${AZ} update --resource-group <rg> --name <name> --allow-shared-key-access false`},
    frameworks: {cis: ['F6 9.3.1.3'], mcsb: ['IM-1'], soc2: ['CC6.1']},
  }),
  {
    id: 'st.net.restricted',
    title: 'Storage denies public network access by default',
    severity: 'high',
    resourceTypes: ST,
    reads: ['properties.publicNetworkAccess', 'properties.networkAcls.defaultAction'],
    evaluate(resource) {
      const access = valueAt(resource, 'properties.publicNetworkAccess')
      if (String(access).toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      const action = String(read(resource, 'properties.networkAcls.defaultAction'))
      return action.toLowerCase() === 'deny'
        ? pass(`networkAcls.defaultAction is Deny`)
        : fail(`publicNetworkAccess is ${access ?? 'not set'} and networkAcls.defaultAction is ${action}`)
    },
    remediation: {text: 'Set the default network action to Deny (or disable public access).', az: `${AZ} update --resource-group <rg> --name <name> --default-action Deny`},
    frameworks: {cis: ['F6 9.3.2.2', 'F6 9.3.2.3'], mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20']},
  },
  flagRule({
    id: 'st.xtenant_repl.off',
    title: 'Storage disallows cross-tenant object replication',
    severity: 'high',
    path: 'properties.allowCrossTenantReplication',
    want: false,
    remediation: {text: 'Disallow cross-tenant replication.', az: `${AZ} update --resource-group <rg> --name <name> --allow-cross-tenant-replication false`},
    frameworks: {cis: ['F6 9.3.7']},
  }),
  {
    id: 'st.key_expiry',
    title: 'Storage account keys must be rotated within 90 days (key expiration policy)',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['properties.keyPolicy.keyExpirationPeriodInDays'],
    evaluate(resource) {
      // ARM omits keyPolicy when none is set: that is a known "no policy", a fail (never a pass).
      const policy = valueAt(resource, 'properties.keyPolicy')
      if (policy === null || policy === undefined) {
        if (!resource.properties) throw new MissingData('properties is absent')
        return fail('no key expiration policy')
      }
      const days = Number(read(resource, 'properties.keyPolicy.keyExpirationPeriodInDays'))
      return days <= 90 ? pass(`keyExpirationPeriodInDays is ${days}`) : fail(`keyExpirationPeriodInDays is ${days} (more than 90)`)
    },
    remediation: {text: 'Set a key expiration policy of 90 days or less.', az: `${AZ} update --resource-group <rg> --name <name> --key-exp-days 90`},
    frameworks: {cis: ['F6 9.3.1.2'], mcsb: ['IM-8']},
  },
  {
    id: 'st.blob.soft_delete',
    title: 'Blob and container soft delete are on for at least 7 days',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['blobServices/default.deleteRetentionPolicy', 'blobServices/default.containerDeleteRetentionPolicy'],
    facts: ['blobService'],
    evaluate(_r, facts) {
      const service = needFact(facts, 'blobService')
      const describe = (label: string, path: string): {ok: boolean; text: string} => {
        const enabled = isTrue(readIn(service, `${path}.enabled`, 'blobServices/default'))
        if (!enabled) return {ok: false, text: `${label} soft delete off`}
        const days = Number(readIn(service, `${path}.days`, 'blobServices/default'))
        if (!Number.isFinite(days)) throw new MissingData(`blobServices/default.${path}.days is not a number`)
        return {ok: days >= 7, text: `${label} soft delete ${days} days`}
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
    frameworks: {cis: ['F6 9.2.1', 'F6 9.2.2'], mcsb: ['DP-8'], soc2: ['A1.2'], iso27001: ['A.8.13']},
  },
  {
    id: 'st.blob.versioning',
    title: 'Blob versioning is on',
    severity: 'medium',
    resourceTypes: ST,
    reads: ['blobServices/default.isVersioningEnabled'],
    facts: ['blobService'],
    evaluate(_r, facts) {
      const service = needFact(facts, 'blobService')
      const value = valueAt(service, 'isVersioningEnabled')
      if (value === undefined) throw new MissingData('blobServices/default.isVersioningEnabled is absent')
      return isTrue(value) ? pass('isVersioningEnabled is true') : fail(`isVersioningEnabled is ${value ?? 'not set'}`)
    },
    remediation: {text: 'Enable blob versioning.', az: 'az storage account blob-service-properties update --resource-group <rg> --account-name <name> --enable-versioning true'},
    frameworks: {cis: ['F6 9.2.3'], mcsb: ['DP-8']},
  },
]
