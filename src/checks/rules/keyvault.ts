/**
 * Key Vault checks, all on the management plane (ARM): the vault's properties from Resource Graph, and for key and
 * secret expiry and key rotation the ARM `vaults/{v}/keys` and `/secrets` lists, which carry attributes and the
 * key's rotation policy but no key material or secret value. Certificates exist only on the data plane (ARM has no
 * certificate API): kv.cert.* read the certificate list and each policy there (needs data-plane read access and network
 * reach; when either is missing the finding is an error, never a pass).
 */
import {RESOURCE_TYPES, type CheckRule, type VaultCertificate, type VaultItem} from '../types.js'
import {approvedPrivateEndpoints, describeSetting, fail, isTrue, MissingData, needFact, notApplicable, pass, read, readOrDefault, valueAt} from './helpers.js'

const KV = [RESOURCE_TYPES.keyvault]
const AZ = 'az keyvault'

/** The enabled items of a list; an item ARM sent without attributes cannot be judged (MissingData). */
function enabledItems(items: VaultItem[], kind: 'key' | 'secret'): Array<VaultItem & {kind: string}> {
  return items
    .map((item) => {
      if (!item.attributes) throw new MissingData(`attributes of ${kind} ${item.name} are absent`)
      return {...item, kind}
    })
    .filter((item) => item.attributes!.enabled !== false)
}

/** `key a, secret b` (at most five, then how many more). */
function named(items: Array<{kind: string; name: string}>): string {
  const shown = items.slice(0, 5).map((i) => `${i.kind} ${i.name}`)
  return items.length > 5 ? `${shown.join(', ')} and ${items.length - 5} more` : shown.join(', ')
}

/** Whether a key's rotation policy rotates it: a lifetime action of type Rotate with a trigger. ARM's spec spells the type `rotate`, the service `Rotate`. */
function rotates(policy: VaultItem['rotationPolicy'] | null | undefined): boolean {
  return (policy?.lifetimeActions ?? []).some(
    (a) => String(a.action?.type).toLowerCase() === 'rotate' && Boolean(a.trigger?.timeAfterCreate || a.trigger?.timeBeforeExpiry),
  )
}

/** A certificate that expires within this many days fails kv.cert.validity: time to renew and roll it out. */
export const CERT_EXPIRY_WARNING_DAYS = 30
/** The longest validity kv.cert.max_validity accepts (CIS v6.0 8.3.11, the Azure Policy's default). */
export const CERT_MAX_VALIDITY_MONTHS = 12

/** `months` calendar months after `ms` (UTC), as a certificate's validity in months is counted. */
function addMonths(ms: number, months: number): number {
  const date = new Date(ms)
  date.setUTCMonth(date.getUTCMonth() + months)
  return date.getTime()
}

/** The enabled certificates; one listed without attributes cannot be judged. */
function enabledCertificates(certificates: VaultCertificate[]): Array<VaultCertificate & {kind: string}> {
  return certificates
    .map((c) => {
      if (!c.attributes) throw new MissingData(`attributes of certificate ${c.name} are absent`)
      return {...c, kind: 'certificate'}
    })
    .filter((c) => c.attributes!.enabled !== false)
}

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
    frameworks: {cis: ['F6 8.3.5'], mcsb: ['DP-8'], soc2: ['A1.2'], iso27001: ['A.8.13'], psrule: ['Azure.KeyVault.PurgeProtect', 'Azure.KeyVault.SoftDelete'], defender: ['0b60c0b2']},
  },
  {
    id: 'kv.rbac',
    title: 'Key Vault uses Azure RBAC for data-plane access',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.enableRbacAuthorization'],
    evaluate(resource) {
      // keyvault.json (stable/2024-11-01) VaultProperties.enableRbacAuthorization: "If null or not specified, the vault
      // is created with the default value of false" — unset is the access-policy model.
      const setting = readOrDefault(resource, 'properties.enableRbacAuthorization', false)
      const text = describeSetting('enableRbacAuthorization', setting)
      return isTrue(setting.value) ? pass(text) : fail(`${text} (access policies)`)
    },
    remediation: {text: 'Switch the vault to the Azure RBAC permission model.', az: `${AZ} update --resource-group <rg> --name <name> --enable-rbac-authorization true`},
    frameworks: {cis: ['F6 8.3.6'], mcsb: ['PA-7'], soc2: ['CC6.3'], psrule: ['Azure.KeyVault.RBAC', 'Azure.KeyVault.AccessPolicy'], defender: ['12d4fa5e']},
  },
  {
    id: 'kv.net.public_disabled',
    title: 'Key Vault public network access is disabled',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.publicNetworkAccess'],
    evaluate(resource) {
      // keyvault.json VaultProperties.publicNetworkAccess: unset means "enabled" (the firewall rules still apply).
      const setting = readOrDefault(resource, 'properties.publicNetworkAccess', 'Enabled')
      const text = describeSetting('publicNetworkAccess', setting)
      return String(setting.value).toLowerCase() === 'disabled' ? pass(text) : fail(text)
    },
    remediation: {text: 'Disable public network access and use a private endpoint.', az: `${AZ} update --resource-group <rg> --name <name> --public-network-access Disabled`},
    frameworks: {cis: ['F6 8.3.7'], mcsb: ['NS-2'], soc2: ['CC6.6'], defender: ['405c5871']},
  },
  {
    id: 'kv.net.restricted',
    title: 'Key Vault firewall denies by default (or public access is disabled)',
    severity: 'high',
    resourceTypes: KV,
    reads: ['properties.publicNetworkAccess', 'properties.networkAcls.defaultAction'],
    evaluate(resource) {
      const access = valueAt(resource, 'properties.publicNetworkAccess')
      if (String(access).toLowerCase() === 'disabled') return pass('publicNetworkAccess is Disabled')
      // The Key Vault firewall is off unless configured: "By default, ... Key Vault accepts connections from all
      // networks" (https://learn.microsoft.com/azure/key-vault/general/network-security). A vault GET without
      // networkAcls (absent or null), or with no defaultAction in them, is that insecure default, a fail, not an error.
      const action = readOrDefault(resource, 'properties.networkAcls.defaultAction', 'Allow')
      if (String(action.value).toLowerCase() === 'deny') return pass('networkAcls.defaultAction is Deny')
      const acls = valueAt(resource, 'properties.networkAcls')
      const detail = acls === undefined || acls === null ? 'there are no network ACLs (all networks allowed)' : describeSetting('networkAcls.defaultAction', action)
      return fail(`publicNetworkAccess is ${access ?? 'not set'} and ${detail}`)
    },
    remediation: {text: 'Set the default network action to Deny (or disable public access).', az: `${AZ} update --resource-group <rg> --name <name> --default-action Deny`},
    frameworks: {mcsb: ['NS-2'], soc2: ['CC6.6'], iso27001: ['A.8.20'], psrule: ['Azure.KeyVault.Firewall'], defender: ['55615ac9']},
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
    frameworks: {cis: ['F6 8.3.8'], mcsb: ['NS-2'], defender: ['a6abeaec']},
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
        // Names compare case-insensitively, as PSRule's Azure.KeyVault.Logs does (PowerShell -eq / -in).
        (s.logs ?? []).some((l) => l.enabled && (String(l.category).toLowerCase() === 'auditevent' || ['audit', 'alllogs'].includes(String(l.categoryGroup).toLowerCase()))),
      )
      return sending ? pass(`diagnostic setting ${sending.name} sends audit events`) : fail(`${settings.length} diagnostic setting(s), none send AuditEvent`)
    },
    remediation: {
      text: 'Add a diagnostic setting that sends the audit category group to Log Analytics.',
      az: 'az monitor diagnostic-settings create --resource <id> --name audit --workspace <workspace-id> --logs \'[{"categoryGroup":"audit","enabled":true}]\'',
    },
    frameworks: {cis: ['F6 6.1.1.4'], mcsb: ['DP-8', 'LT-3'], soc2: ['CC7.2'], iso27001: ['A.8.15'], psrule: ['Azure.KeyVault.Logs'], defender: ['cf820ca0'], azqr: ['kv-001']}, // azqr kv-001: Azure/azqr internal/scanners/diagnostics_settings.go
  },
  {
    id: 'kv.expiry',
    title: 'Every enabled Key Vault key and secret has an expiry date',
    severity: 'medium',
    resourceTypes: KV,
    reads: ['vaults/keys[*].properties.attributes.{enabled,exp}', 'vaults/secrets[*].properties.attributes.{enabled,exp}'],
    facts: ['kvKeys', 'kvSecrets'],
    evaluate(_r, facts) {
      const items = [...enabledItems(needFact(facts, 'kvKeys'), 'key'), ...enabledItems(needFact(facts, 'kvSecrets'), 'secret')]
      if (items.length === 0) return notApplicable('no enabled keys or secrets')
      const never = items.filter((i) => !i.attributes!.expires)
      return never.length === 0
        ? pass(`all ${items.length} enabled key(s) and secret(s) have an expiry`)
        : fail(`${never.length} of ${items.length} enabled key(s) and secret(s) never expire: ${named(never)}`)
    },
    remediation: {
      text: 'Set an expiration date on every enabled key and secret (a key rotation policy with an expiryTime sets it on new versions).',
      az: `${AZ} secret set-attributes --vault-name <vault> --name <secret> --expires <yyyy-mm-ddThh:mm:ssZ>; ${AZ} key set-attributes --vault-name <vault> --name <key> --expires <yyyy-mm-ddThh:mm:ssZ>`,
    },
    frameworks: {cis: ['F6 8.3.1', 'F6 8.3.2', 'F6 8.3.3', 'F6 8.3.4'], mcsb: ['DP-6'], iso27001: ['A.8.24'], defender: ['152b15f7', '98728c90']},
  },
  {
    id: 'kv.key_rotation',
    title: 'Every enabled Key Vault key rotates automatically (rotation policy with a Rotate action)',
    severity: 'high',
    resourceTypes: KV,
    reads: ['vaults/keys/{key}.properties.rotationPolicy.lifetimeActions[*].{action.type,trigger} (GET of each enabled key)'],
    facts: ['kvKeys', 'kvKeyRotationPolicies'],
    evaluate(_r, facts) {
      const keys = enabledItems(needFact(facts, 'kvKeys'), 'key')
      if (keys.length === 0) return notApplicable('no enabled keys')
      // The key list carries no rotation policy (spec example listKeys.json); each key's GET does ("Omitted if empty").
      const policies = needFact(facts, 'kvKeyRotationPolicies') as Record<string, VaultItem['rotationPolicy'] | null>
      const unread = keys.filter((k) => !(k.name in policies))
      if (unread.length > 0) throw new MissingData(`rotation policy of ${named(unread)} was not read`)
      const manual = keys.filter((k) => !rotates(policies[k.name]))
      return manual.length === 0
        ? pass(`all ${keys.length} enabled key(s) have a rotation policy that rotates them`)
        : fail(`${manual.length} of ${keys.length} enabled key(s) have no rotation policy with a Rotate action: ${named(manual)}`)
    },
    remediation: {
      text: 'Give each key a rotation policy that rotates it (e.g. 90 days after creation) and notifies before expiry.',
      az: `${AZ} key rotation-policy update --vault-name <vault> --name <key> --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P1Y"}}'`,
    },
    frameworks: {cis: ['F6 8.3.9'], mcsb: ['DP-6'], iso27001: ['A.8.24'], psrule: ['Azure.KeyVault.AutoRotationPolicy'], defender: ['d8cf8476']},
  },
  {
    id: 'kv.cert.validity',
    title: `Every enabled Key Vault certificate is valid for at least ${CERT_EXPIRY_WARNING_DAYS} more days`,
    severity: 'high',
    resourceTypes: KV,
    reads: ['data plane: certificates[*].attributes.{enabled,exp}'],
    facts: ['kvCertificates'],
    evaluate(_r, facts, context) {
      const certificates = enabledCertificates(needFact(facts, 'kvCertificates'))
      if (certificates.length === 0) return notApplicable('no enabled certificates')
      const limit = context.now.getTime() + CERT_EXPIRY_WARNING_DAYS * 86_400_000
      // CertificateAttributes.exp: expiry in seconds since 1970; a certificate always has one (X.509 notAfter).
      const missing = certificates.filter((c) => !c.attributes!.expires)
      if (missing.length > 0) throw new MissingData(`expiry of ${named(missing)} is absent`)
      const expired = certificates.filter((c) => Date.parse(c.attributes!.expires!) <= context.now.getTime())
      const soon = certificates.filter((c) => !expired.includes(c) && Date.parse(c.attributes!.expires!) <= limit)
      if (expired.length === 0 && soon.length === 0) return pass(`all ${certificates.length} enabled certificate(s) are valid beyond ${CERT_EXPIRY_WARNING_DAYS} days`)
      const parts = [
        ...(expired.length ? [`expired: ${named(expired)}`] : []),
        ...(soon.length ? [`expire within ${CERT_EXPIRY_WARNING_DAYS} days: ${soon.map((c) => `${c.name} (${c.attributes!.expires!.slice(0, 10)})`).join(', ')}`] : []),
      ]
      return fail(`${expired.length + soon.length} of ${certificates.length} enabled certificate(s) ${parts.join('; ')}`)
    },
    remediation: {
      text: 'Renew the certificate (a new version) and roll it out; give it a policy that renews it automatically (kv.cert.auto_renew).',
      az: `${AZ} certificate create --vault-name <vault> --name <certificate> --policy "$(${AZ} certificate show --vault-name <vault> --name <certificate> --query policy)"`,
    },
    // Azure Policy "Certificates should not expire within the specified number of days" (f772fb64-8e40-40ad-87bc-7706e1949427).
    frameworks: {mcsb: ['DP-7'], iso27001: ['A.8.24'], defender: ['f772fb64']},
  },
  {
    id: 'kv.cert.auto_renew',
    title: 'Every enabled Key Vault certificate renews automatically (AutoRenew lifetime action, an issuer Key Vault can renew with)',
    severity: 'medium',
    resourceTypes: KV,
    reads: ['data plane: certificates/{name}/policy.{lifetime_actions[*].action.action_type,issuer.name}'],
    facts: ['kvCertificates'],
    evaluate(_r, facts) {
      const certificates = enabledCertificates(needFact(facts, 'kvCertificates'))
      if (certificates.length === 0) return notApplicable('no enabled certificates')
      const unread = certificates.filter((c) => !c.policy)
      if (unread.length > 0) throw new MissingData(`policy of ${named(unread)} was not read`)
      // LifetimeAction.action.action_type is EmailContacts or AutoRenew (keyvault 7.5 certificates.json); automatic
      // renewal works only with Self or partnered issuers, not `Unknown` (a certificate managed by hand)
      // (https://learn.microsoft.com/azure/key-vault/certificates/about-certificates: "Non-partnered providers and
      // authorities ... don't support automatic renewal").
      const manual = certificates.filter(
        (c) => String(c.policy!.issuer ?? '').toLowerCase() === 'unknown' || !c.policy!.lifetimeActions.some((a) => String(a.action?.action_type).toLowerCase() === 'autorenew'),
      )
      return manual.length === 0
        ? pass(`all ${certificates.length} enabled certificate(s) renew automatically`)
        : fail(`${manual.length} of ${certificates.length} enabled certificate(s) do not renew automatically: ${manual.map((c) => `${c.name} (issuer ${c.policy!.issuer ?? 'unset'}, actions ${c.policy!.lifetimeActions.map((a) => a.action?.action_type).join('/') || 'none'})`).join(', ')}`)
    },
    remediation: {
      text: 'Issue the certificate through Self or an integrated CA and give its policy an AutoRenew lifetime action (e.g. at 80 % of its lifetime).',
      az: `${AZ} certificate set-attributes --vault-name <vault> --name <certificate> --policy '{"lifetimeActions":[{"trigger":{"lifetimePercentage":80},"action":{"actionType":"AutoRenew"}}]}'`,
    },
    // Azure Policy "Certificates should have the specified lifetime action triggers" (12ef42cb-9903-4e39-9c26-422d29570417).
    frameworks: {mcsb: ['DP-7'], iso27001: ['A.8.24'], defender: ['12ef42cb']},
  },
  {
    id: 'kv.cert.max_validity',
    title: `Every enabled Key Vault certificate is issued for ${CERT_MAX_VALIDITY_MONTHS} months or less`,
    severity: 'medium',
    resourceTypes: KV,
    reads: ['data plane: certificates[*].attributes.{enabled,nbf,exp}'],
    facts: ['kvCertificates'],
    evaluate(_r, facts) {
      const certificates = enabledCertificates(needFact(facts, 'kvCertificates'))
      if (certificates.length === 0) return notApplicable('no enabled certificates')
      // CertificateAttributes.nbf/exp (keyvault 7.5 certificates.json): the X.509 notBefore/notAfter of the current version.
      const missing = certificates.filter((c) => !c.attributes!.notBefore || !c.attributes!.expires)
      if (missing.length > 0) throw new MissingData(`validity period (nbf/exp) of ${named(missing)} is absent`)
      const tooLong = certificates.filter((c) => Date.parse(c.attributes!.expires!) > addMonths(Date.parse(c.attributes!.notBefore!), CERT_MAX_VALIDITY_MONTHS))
      if (tooLong.length === 0) return pass(`all ${certificates.length} enabled certificate(s) are valid for ${CERT_MAX_VALIDITY_MONTHS} months or less`)
      return fail(
        `${tooLong.length} of ${certificates.length} enabled certificate(s) are valid for longer than ${CERT_MAX_VALIDITY_MONTHS} months: ${tooLong.map((c) => `${c.name} (${c.attributes!.notBefore!.slice(0, 10)} to ${c.attributes!.expires!.slice(0, 10)})`).join(', ')}`,
      )
    },
    remediation: {
      text: `Issue the next version with a policy of at most ${CERT_MAX_VALIDITY_MONTHS} months' validity (x509_props.validity_months), then roll it out.`,
      az: `${AZ} certificate create --vault-name <vault> --name <certificate> --policy '{"x509CertificateProperties":{"validityInMonths":${CERT_MAX_VALIDITY_MONTHS}}}'`,
    },
    // CIS Azure Foundations v6.0 8.3.11 (Prowler cis_6.0_azure.json @ 3e000faa; 8.3.10 is Managed HSM) and Azure Policy "Certificates should have the specified maximum validity
    // period" (0a075868-4c26-42ef-914c-5bc007359560, default maximumValidityInMonths 12).
    frameworks: {cis: ['F6 8.3.11'], mcsb: ['DP-7'], iso27001: ['A.8.24'], defender: ['0a075868']},
  },
]
