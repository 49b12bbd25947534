/**
 * Key Vault checks on the management plane. Key and secret expiry and key rotation policies need the vault's
 * data plane (or per-item listing), which this checklist does not reach: kv.expiry and kv.key_rotation are not
 * implemented.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import {approvedPrivateEndpoints, fail, isTrue, MissingData, needFact, pass, read, valueAt} from './helpers.js'

const KV = [RESOURCE_TYPES.keyvault]
const AZ = 'az keyvault'

export const keyvaultRules: CheckRule[] = [
  {
    id: 'kv.purge_protection',
    title: 'Key Vault soft delete and purge protection are on',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.enableSoftDelete', 'properties.enablePurgeProtection'],
    evaluate(resource) {
      // enableSoftDelete is true by default on every vault created since 2020 and ARG omits it then.
      const softDelete = valueAt(resource, 'properties.enableSoftDelete')
      const purge = valueAt(resource, 'properties.enablePurgeProtection')
      if (softDelete === false) return fail('enableSoftDelete is false')
      if (purge === undefined || purge === null) return fail('enablePurgeProtection is not set')
      return isTrue(purge) ? pass(`enablePurgeProtection is true, enableSoftDelete is ${softDelete ?? 'true (default)'}`) : fail('enablePurgeProtection is false')
    },
    remediation: {text: 'Enable purge protection (it cannot be turned off again).', az: `${AZ} update --resource-group <rg> --name <name> --enable-purge-protection true`},
    frameworks: {cis: ['F6 8.3.5'], mcsb: ['DP-8'], soc2: ['A1.2'], iso27001: ['A.8.13']},
  },
  {
    id: 'kv.rbac',
    title: 'Key Vault uses Azure RBAC for data-plane access',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.enableRbacAuthorization'],
    evaluate(resource) {
      const value = read(resource, 'properties.enableRbacAuthorization')
      return isTrue(value) ? pass('enableRbacAuthorization is true') : fail('enableRbacAuthorization is false (access policies)')
    },
    remediation: {text: 'Switch the vault to the Azure RBAC permission model.', az: `${AZ} update --resource-group <rg> --name <name> --enable-rbac-authorization true`},
    frameworks: {cis: ['F6 8.3.6'], mcsb: ['PA-7'], soc2: ['CC6.3']},
  },
  {
    id: 'kv.net.restricted',
    title: 'Key Vault denies public network access by default',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.publicNetworkAccess', 'properties.networkAcls.defaultAction'],
    evaluate(resource) {
      const access = valueAt(resource, 'properties.publicNetworkAccess')
      if (String(access).toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      const acls = valueAt(resource, 'properties.networkAcls')
      // A vault without networkAcls allows every network.
      if (acls === null) return fail(`publicNetworkAccess is ${access ?? 'not set'} and there are no network ACLs`)
      const action = String(read(resource, 'properties.networkAcls.defaultAction'))
      return action.toLowerCase() === 'deny' ? pass('networkAcls.defaultAction is Deny') : fail(`publicNetworkAccess is ${access ?? 'not set'} and networkAcls.defaultAction is ${action}`)
    },
    remediation: {text: 'Set the default network action to Deny (or disable public access).', az: `${AZ} update --resource-group <rg> --name <name> --default-action Deny`},
    frameworks: {cis: ['F6 8.3.7'], mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20']},
  },
  {
    id: 'kv.private_link',
    title: 'Key Vault has an approved private endpoint',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.privateEndpointConnections'],
    evaluate(resource) {
      if (!resource.properties) throw new MissingData('properties is absent')
      // ARM omits privateEndpointConnections when there are none: absence is "none" (a fail), never a pass.
      const connections = valueAt(resource, 'properties.privateEndpointConnections') ?? []
      if (!Array.isArray(connections)) throw new MissingData('properties.privateEndpointConnections is not a list')
      const approved = approvedPrivateEndpoints(connections)
      return approved > 0 ? pass(`${approved} approved private endpoint(s)`) : fail('no approved private endpoint')
    },
    remediation: {
      text: 'Add a private endpoint for the vault (group id vault).',
      az: 'az network private-endpoint create --resource-group <rg> --name <pe> --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id <vault-id> --group-id vault --connection-name <name>',
    },
    frameworks: {cis: ['F6 8.3.8'], mcsb: ['NS-2']},
  },
  {
    id: 'kv.audit_logs',
    title: 'Key Vault audit events go to a diagnostic setting',
    severity: 'high',
    resourceTypes: KV,
    reads: ['diagnosticSettings[*].logs[category=AuditEvent | categoryGroup=audit|allLogs]'],
    facts: ['diagnosticSettings'],
    evaluate(_r, facts) {
      const settings = needFact(facts, 'diagnosticSettings') as Array<{name: string; logs?: Array<{category?: string; categoryGroup?: string; enabled?: boolean}>}>
      const sending = settings.find((s) =>
        (s.logs ?? []).some((l) => l.enabled && (l.category === 'AuditEvent' || ['audit', 'alllogs'].includes(String(l.categoryGroup).toLowerCase()))),
      )
      return sending ? pass(`diagnostic setting ${sending.name} sends audit events`) : fail(`${settings.length} diagnostic setting(s), none send AuditEvent`)
    },
    remediation: {
      text: 'Add a diagnostic setting that sends the audit category group to Log Analytics.',
      az: 'az monitor diagnostic-settings create --resource <id> --name audit --workspace <workspace-id> --logs \'[{"categoryGroup":"audit","enabled":true}]\'',
    },
    frameworks: {cis: ['F6 6.1.1.4'], mcsb: ['DP-8', 'LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15']},
  },
]
