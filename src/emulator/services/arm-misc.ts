/**
 * The rest of ARM that opsbook reads: subscriptions and resource groups, storage accounts (security properties,
 * listKeys, blobServices/default, blob containers with the immutability and legal-hold properties Azurite lacks),
 * key vaults with their keys and secrets on the management plane (api 2026-02-01 as @azure/arm-keyvault 5 sends
 * it: list/get/create-if-not-exist keys with attributes and rotation policy; list/get/create/update secrets, whose
 * values are never stored or returned, as ARM never returns them), management locks (subscription, resource group
 * and resource scope, api 2020-05-01), diagnostic settings (api 2021-05-01-preview) and tags at scope. Seeded with
 * exactly what the catalog describes and Azure's defaults for everything else (no locks, no diagnostic settings, no
 * keys or secrets); settings beyond the catalog come from the estate (../estate.ts, services/estate.ts).
 */
import {randomUUID} from 'node:crypto'
import {apiVersionOf, checkScope, clone, invalidBody, paged, resourceGroups, resourceIdOf, resourceNotFound, systemData} from '../arm.js'
import {INTERNAL_BLOB_CLIENT_OPTIONS} from '../blob.js'
import type {EmulatorContext} from '../context.js'
import {armError, type EmulatorRequest, type EmulatorResponse, type Route} from '../types.js'
import {postgresState} from './postgres.js'
import {redisState} from './redis.js'
import {allArmResources, registerResourceInventory} from './resource-graph.js'
import {appServicePlans} from './webapp.js'

const STORAGE = 'Microsoft.Storage/storageAccounts'
const VAULT = 'Microsoft.KeyVault/vaults'
const SA = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts'
const KV = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults'

interface Resource {
  id: string
  name: string
  type: string
  location: string
  tags: Record<string, string>
  properties: Record<string, any>
  [key: string]: unknown
}

/** Key Vault object attributes as ARM sends them: times in seconds since 1970-01-01T00:00:00Z. */
export interface ItemAttributes {
  enabled: boolean
  nbf?: number
  exp?: number
  created: number
  updated: number
}

interface VaultKey {
  name: string
  version: string
  kty: string
  keySize?: number
  curveName?: string
  keyOps: string[]
  attributes: ItemAttributes & {recoveryLevel: string; exportable: boolean}
  rotationPolicy?: {attributes?: {expiryTime?: string; created: number; updated: number}; lifetimeActions: Array<{trigger?: Record<string, string>; action?: {type?: string}}>}
  tags: Record<string, string>
}

/** A secret's metadata. Its value is deliberately not kept: ARM never returns it, and the emulator's state is a file. */
/** A Key Vault certificate as the data plane describes it (CertificateItem + CertificatePolicy, keyvault 7.5 certificates.json). */
export interface VaultCertificate {
  name: string
  x5t: string
  attributes: ItemAttributes
  /** CertificatePolicy: issuer name (Self, Unknown = manual, or a configured issuer), validity, lifetime actions. */
  policy: {
    issuer: string
    validityMonths: number
    lifetimeActions: Array<{trigger: {lifetime_percentage?: number; days_before_expiry?: number}; action: {action_type: 'AutoRenew' | 'EmailContacts'}}>
  }
  tags: Record<string, string>
}

export interface VaultSecret {
  name: string
  version: string
  contentType?: string
  attributes: ItemAttributes
  tags: Record<string, string>
}

export interface ContainerRecord {
  account: string
  publicAccess: 'None' | 'Blob' | 'Container'
  metadata: Record<string, string>
  immutabilityPolicy?: {immutabilityPeriodSinceCreationInDays: number; state: 'Unlocked' | 'Locked'; allowProtectedAppendWrites: boolean; etag: string}
  legalHoldTags: string[]
  lastModifiedTime: string
}

export interface MiscState {
  storageAccounts: Record<string, {resource: Resource; resourceGroup: string; blobService: Record<string, any>}>
  containers: Record<string, ContainerRecord>
  /** `keys`/`secrets` are keyed by lower-case name; absent in state saved before they were modelled (seeded on first use). */
  vaults: Record<
    string,
    {
      resource: Resource
      resourceGroup: string
      keys?: Record<string, VaultKey>
      secrets?: Record<string, VaultSecret>
      /** Data plane (services/keyvault-data.ts): secret name (lower-case) → current value. Never served by ARM. */
      secretValues?: Record<string, string>
      /** Data plane: certificates by lower-case name (ARM has no certificate API). */
      certificates?: Record<string, VaultCertificate>
    }
  >
  /** Lock id (lower-case) → lock. */
  locks: Record<string, {scope: string; name: string; level: 'CanNotDelete' | 'ReadOnly'; notes?: string}>
  /** Resource id (lower-case) → settings. */
  diagnosticSettings: Record<string, Array<{name: string; properties: Record<string, unknown>}>>
}

/** Exported for Resource Graph (resource-graph.ts lists storage accounts, vaults and locks from it). */
export function miscState(ctx: EmulatorContext): MiscState {
  return ctx.store.slice<MiscState>('arm', () => seed(ctx))
}

function seed(ctx: EmulatorContext): MiscState {
  const state: MiscState = {storageAccounts: {}, containers: {}, vaults: {}, locks: {}, diagnosticSettings: {}}
  if (!ctx.seedFromCatalog) return state
  const env = ctx.environment
  const created = systemData(new Date(ctx.clock().getTime() - 90 * 86_400_000))
  const addStorageAccount = (name: string, rg: string, tags: Record<string, string> = {}) => {
    const id = resourceIdOf(ctx.subscription, rg, STORAGE, name)
    // What ARM returns for an account created with only the required properties (Microsoft.Storage
    // stable/2023-05-01 storage.json defaults): minimumTlsVersion "default interpretation is TLS 1.0",
    // allowBlobPublicAccess and allowCrossTenantReplication false, allowSharedKeyAccess unset (null = true),
    // networkAcls defaultAction Allow, no key policy, no SAS policy. Anything else comes from the estate.
    state.storageAccounts[id.toLowerCase()] = {
      resourceGroup: rg,
      resource: {
        id,
        name,
        type: STORAGE,
        location: env.region,
        tags: {...tags},
        sku: {name: 'Standard_GRS', tier: 'Standard'},
        kind: 'StorageV2',
        // No systemData: StorageAccount does not define it (storage.json 2022-09-01 and 2023-05-01).
        properties: {
          provisioningState: 'Succeeded',
          creationTime: created.createdAt,
          keyCreationTime: {key1: created.createdAt, key2: created.createdAt},
          primaryLocation: env.region,
          ...(env.pairedRegion ? {secondaryLocation: env.pairedRegion, statusOfSecondary: 'available'} : {}),
          statusOfPrimary: 'available',
          primaryEndpoints: {blob: `https://${name}.blob.core.windows.net/`},
          accessTier: 'Hot',
          supportsHttpsTrafficOnly: true,
          minimumTlsVersion: 'TLS1_0',
          allowBlobPublicAccess: false,
          networkAcls: {bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: []},
          allowCrossTenantReplication: false,
          encryption: {keySource: 'Microsoft.Storage', requireInfrastructureEncryption: false, services: {blob: {enabled: true, keyType: 'Account'}, file: {enabled: true, keyType: 'Account'}}},
        },
      },
      // blob.json: soft delete off until enabled; versioning unset (off).
      blobService: {deleteRetentionPolicy: {enabled: false, allowPermanentDelete: false}},
    }
  }
  for (const component of Object.values(env.components)) {
    const rg = component.resourceGroup ?? env.resourceGroups[0]!
    if (component.type === 'storage') addStorageAccount(component.name, rg, component.tags)
    if (component.type === 'keyvault') {
      const id = resourceIdOf(ctx.subscription, rg, VAULT, component.name)
      // A vault created with only the required properties (api-version 2026-02-01 as @azure/arm-keyvault 5 sends it):
      // soft delete on with 90 days (enableSoftDelete "default value of true" since 2020), Azure RBAC on (the
      // default for vaults created with api-version 2026-02-01 or later, learn.microsoft.com/azure/key-vault/general/access-control-default), public network access
      // Enabled, no network ACLs, no purge protection, no keys or secrets.
      state.vaults[id.toLowerCase()] = {
        resourceGroup: rg,
        resource: {
          id,
          name: component.name,
          type: VAULT,
          location: env.region,
          tags: {...component.tags},
          systemData: created,
          properties: {
            tenantId: env.tenant ?? '00000000-0000-0000-0000-000000000000',
            sku: {family: 'A', name: 'standard'},
            accessPolicies: [],
            vaultUri: `https://${component.name}.vault.azure.net/`,
            enabledForDeployment: false,
            enabledForDiskEncryption: false,
            enabledForTemplateDeployment: false,
            enableSoftDelete: true,
            softDeleteRetentionInDays: 90,
            enableRbacAuthorization: true,
            publicNetworkAccess: 'Enabled',
            provisioningState: 'Succeeded',
          },
        },
        keys: {},
        secrets: {},
      }
    }
  }
  const evidence = env.evidence
  // The evidence account exists in Azure whether or not the catalog lists it as a component (a catalog written from a
  // platform's design document rarely does): serve it, so a run reads its container's immutability instead of warning.
  if (evidence && !Object.values(state.storageAccounts).some((a) => a.resource.name === evidence.storageAccount))
    addStorageAccount(evidence.storageAccount, evidence.resourceGroup ?? env.resourceGroups[0]!)
  const at = ctx.clock().toISOString()
  if (evidence)
    state.containers[evidence.container] = {
      account: evidence.storageAccount,
      publicAccess: 'None',
      metadata: {purpose: 'opsbook-evidence'},
      immutabilityPolicy: {immutabilityPeriodSinceCreationInDays: 365, state: 'Unlocked', allowProtectedAppendWrites: true, etag: `"${randomUUID()}"`},
      legalHoldTags: [],
      lastModifiedTime: at,
    }
  for (const component of Object.values(env.components))
    if (component.type === 'redis' && component.snapshots)
      state.containers[component.snapshots.container] ??= {account: component.snapshots.storageAccount, publicAccess: 'None', metadata: {}, legalHoldTags: [], lastModifiedTime: at}
  return state
}

function lockId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/locks/${name}`.toLowerCase()
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => miscState(ctx)
  // Seed on start, so a fresh state file holds the catalog's resources before the first request.
  miscState(ctx)
  resourceGroups(ctx)
  // Management locks are in no Resource Graph table: the table reference lists no microsoft.authorization/locks
  // (`resources` has only elevateaccessroleassignment and resourcemanagementprivatelinks of Microsoft.Authorization,
  // `authorizationresources` only classicadministrators, roleassignments and roledefinitions;
  // learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources). They are read from
  // ARM's locks API below, as the checks do; storage accounts and vaults are listed.
  registerResourceInventory(ctx, 'arm', () => [
    ...Object.values(state().storageAccounts).map((a) => a.resource),
    ...Object.values(state().vaults).map((v) => v.resource),
  ])
  const rgs = () => resourceGroups(ctx)

  const subscriptionView = () => ({
    id: `/subscriptions/${ctx.subscription}`,
    subscriptionId: ctx.subscription,
    tenantId: ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000',
    displayName: `opsbook emulator (${ctx.environmentName})`,
    state: 'Enabled',
    subscriptionPolicies: {locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off'},
    authorizationSource: 'RoleBased',
  })
  const rgView = (rg: {name: string; location: string; tags: Record<string, string>}) => ({
    id: `/subscriptions/${ctx.subscription}/resourceGroups/${rg.name}`,
    name: rg.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: rg.location,
    tags: {...rg.tags},
    properties: {provisioningState: 'Succeeded'},
  })

  const account = (p: Record<string, string>) => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().storageAccounts[resourceIdOf(p.sub!, p.rg!, STORAGE, p.account!).toLowerCase()] ?? resourceNotFound(STORAGE, p.account!, p.rg!)
  }
  const isAccount = (v: unknown): v is MiscState['storageAccounts'][string] => typeof v === 'object' && v !== null && 'blobService' in v
  const blobService = async () => {
    const {BlobServiceClient, StorageSharedKeyCredential} = await import('@azure/storage-blob')
    return new BlobServiceClient(ctx.blob.endpoint, new StorageSharedKeyCredential(ctx.blob.account, ctx.blob.key), INTERNAL_BLOB_CLIENT_OPTIONS)
  }
  /** The container record for an account: it must exist in Azurite and not belong to another account. */
  const containerOf = async (accountName: string, name: string): Promise<ContainerRecord | undefined> => {
    const record = state().containers[name]
    if (record && record.account.toLowerCase() !== accountName.toLowerCase()) return undefined
    if (!(await (await blobService()).getContainerClient(name).exists())) return undefined
    return record ?? {account: accountName, publicAccess: 'None', metadata: {}, legalHoldTags: [], lastModifiedTime: ctx.clock().toISOString()}
  }
  const containerView = (acct: MiscState['storageAccounts'][string], name: string, record: ContainerRecord) => ({
    id: `${acct.resource.id}/blobServices/default/containers/${name}`,
    name,
    type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    etag: `"0x${Buffer.from(record.lastModifiedTime).toString('hex').slice(0, 15).toUpperCase()}"`,
    properties: {
      publicAccess: record.publicAccess,
      metadata: record.metadata,
      lastModifiedTime: record.lastModifiedTime,
      leaseStatus: 'Unlocked',
      leaseState: 'Available',
      deleted: false,
      remainingRetentionDays: 0,
      defaultEncryptionScope: '$account-encryption-key',
      denyEncryptionScopeOverride: false,
      hasImmutabilityPolicy: Boolean(record.immutabilityPolicy),
      hasLegalHold: record.legalHoldTags.length > 0,
      ...(record.immutabilityPolicy
        ? {
            immutabilityPolicy: {
              etag: record.immutabilityPolicy.etag,
              properties: {
                immutabilityPeriodSinceCreationInDays: record.immutabilityPolicy.immutabilityPeriodSinceCreationInDays,
                state: record.immutabilityPolicy.state,
                allowProtectedAppendWrites: record.immutabilityPolicy.allowProtectedAppendWrites,
              },
              updateHistory: [],
            },
          }
        : {}),
      legalHold: {hasLegalHold: record.legalHoldTags.length > 0, tags: record.legalHoldTags.map((tag) => ({tag, timestamp: record.lastModifiedTime, objectIdentifier: 'opsbook-emulator', tenantId: ctx.environment.tenant ?? ''}))},
      immutableStorageWithVersioning: {enabled: false},
    },
  })
  const containerRoute = (suffix: string) => `${SA}/{account}/blobServices/default/containers/{container}${suffix}`
  /**
   * BlobContainers_CreateOrUpdateImmutabilityPolicy / GetImmutabilityPolicy answer an ImmutabilityPolicy: an
   * AzureEntityResource (id, name, type, etag) with `properties`, and the policy's ETag as a header; the update history
   * belongs only to the container's view of the policy (ImmutabilityPolicyProperties), not to this resource
   * (blob.json 2025-08-01 definitions ImmutabilityPolicy and ImmutabilityPolicyProperties,
   * https://github.com/Azure/azure-rest-api-specs/blob/main/specification/storage/resource-manager/Microsoft.Storage/stable/2025-08-01/blob.json;
   * example BlobContainersPutImmutabilityPolicy.json).
   */
  const immutabilityPolicyResponse = (acct: MiscState['storageAccounts'][string], container: string, record: ContainerRecord): EmulatorResponse => {
    const {etag, properties} = containerView(acct, container, record).properties.immutabilityPolicy!
    return {
      status: 200,
      headers: {etag},
      body: {id: `${acct.resource.id}/blobServices/default/containers/${container}/immutabilityPolicies/default`, name: 'default', type: 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies', etag, properties},
    }
  }

  const vault = (p: Record<string, string>) => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().vaults[resourceIdOf(p.sub!, p.rg!, VAULT, p.name!).toLowerCase()] ?? resourceNotFound(VAULT, p.name!, p.rg!)
  }

  // ── locks ──
  const lockView = (lock: MiscState['locks'][string]) => ({
    id: `${lock.scope}/providers/Microsoft.Authorization/locks/${lock.name}`,
    name: lock.name,
    type: 'Microsoft.Authorization/locks',
    properties: {level: lock.level, ...(lock.notes ? {notes: lock.notes} : {}), owners: []},
  })
  const scopeOf = (p: Record<string, string>): string => {
    let scope = `/subscriptions/${p.sub}`
    if (p.rg) scope += `/resourceGroups/${p.rg}`
    if (p.ns) scope += `/providers/${p.ns}`
    if (p.ptype) scope += `/${p.ptype}/${p.pname}`
    if (p.type) scope += `/${p.type}/${p.name}`
    return scope
  }
  const scopeExists = (p: Record<string, string>): EmulatorResponse | undefined => checkScope(ctx, p.sub!, p.rg)
  const lockPrefixes = [
    '/subscriptions/{sub}',
    '/subscriptions/{sub}/resourceGroups/{rg}',
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}',
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{ptype}/{pname}/{type}/{name}',
  ]
  const lockRoutes: Route[] = lockPrefixes.flatMap((prefix): Route[] => [
    {
      method: 'GET',
      pattern: `${prefix}/providers/Microsoft.Authorization/locks`,
      operation: 'locks.list',
      handler: (request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        const scope = scopeOf(p).toLowerCase()
        const atScope = /atScope\(\)/i.test(request.query.get('$filter') ?? '')
        const locks = Object.values(state().locks).filter((l) => {
          const s = l.scope.toLowerCase()
          // atScope(): locks at this scope and its ancestors; otherwise also those below it.
          return atScope ? scope === s || scope.startsWith(`${s}/`) : s === scope || s.startsWith(`${scope}/`) || scope.startsWith(`${s}/`)
        })
        return paged(request, locks.map(lockView))
      },
    },
    {
      method: 'GET',
      pattern: `${prefix}/providers/Microsoft.Authorization/locks/{lockName}`,
      operation: 'locks.get',
      handler: (_request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        const lock = state().locks[lockId(scopeOf(p), p.lockName!)]
        return lock ? {status: 200, body: lockView(lock)} : armError(404, 'LockNotFound', `The lock '${p.lockName}' could not be found.`)
      },
    },
    {
      method: 'PUT',
      pattern: `${prefix}/providers/Microsoft.Authorization/locks/{lockName}`,
      operation: 'locks.put',
      handler: (request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        const level = request.body?.properties?.level
        if (level !== 'CanNotDelete' && level !== 'ReadOnly')
          return armError(400, 'InvalidLockLevel', `The lock level '${level}' is invalid. Valid values are CanNotDelete and ReadOnly.`)
        const key = lockId(scopeOf(p), p.lockName!)
        const created = !state().locks[key]
        state().locks[key] = {scope: scopeOf(p), name: p.lockName!, level, ...(request.body.properties.notes ? {notes: request.body.properties.notes} : {})}
        return {status: created ? 201 : 200, body: lockView(state().locks[key]!)}
      },
    },
    {
      method: 'DELETE',
      pattern: `${prefix}/providers/Microsoft.Authorization/locks/{lockName}`,
      operation: 'locks.delete',
      handler: (_request, p) => {
        const key = lockId(scopeOf(p), p.lockName!)
        if (!state().locks[key]) return {status: 204}
        delete state().locks[key]
        return {status: 200}
      },
    },
  ])

  // ── diagnostic settings ──
  const diagPrefixes = lockPrefixes.slice(2)
  const diagView = (resourceId: string, setting: {name: string; properties: Record<string, unknown>}, apiVersion?: string) => ({
    id: `${resourceId}/providers/microsoft.insights/diagnosticSettings/${setting.name}`,
    name: setting.name,
    type: 'Microsoft.Insights/diagnosticSettings',
    properties: apiVersion === '2017-05-01-preview' ? diagnosticSettingsFor20170501(setting.properties) : clone(setting.properties),
  })
  const diagRoutes: Route[] = diagPrefixes.flatMap((prefix): Route[] => [
    {
      method: 'GET',
      pattern: `${prefix}/providers/Microsoft.Insights/diagnosticSettings`,
      operation: 'diagnosticSettings.list',
      handler: (request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        const id = scopeOf(p)
        // Not paged: the 2021-05-01-preview list has no nextLink.
        return {status: 200, body: {value: (state().diagnosticSettings[id.toLowerCase()] ?? []).map((s) => diagView(id, s, apiVersionOf(request)))}}
      },
    },
    {
      method: 'GET',
      pattern: `${prefix}/providers/Microsoft.Insights/diagnosticSettings/{setting}`,
      operation: 'diagnosticSettings.get',
      handler: (request, p) => {
        const id = scopeOf(p)
        const setting = (state().diagnosticSettings[id.toLowerCase()] ?? []).find((s) => s.name.toLowerCase() === p.setting!.toLowerCase())
        return setting ? {status: 200, body: diagView(id, setting, apiVersionOf(request))} : armError(404, 'ResourceNotFound', `The diagnostic setting '${p.setting}' doesn't exist.`)
      },
    },
    {
      method: 'PUT',
      pattern: `${prefix}/providers/Microsoft.Insights/diagnosticSettings/{setting}`,
      operation: 'diagnosticSettings.put',
      handler: (request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        if (typeof request.body?.properties !== 'object') return invalidBody()
        const id = scopeOf(p)
        const list = (state().diagnosticSettings[id.toLowerCase()] ??= [])
        const existing = list.findIndex((s) => s.name.toLowerCase() === p.setting!.toLowerCase())
        const setting = {name: p.setting!, properties: clone(request.body.properties)}
        if (existing >= 0) list[existing] = setting
        else list.push(setting)
        return {status: 200, body: diagView(id, setting, apiVersionOf(request))}
      },
    },
    {
      // DiagnosticSettings_Delete: 200 when a setting was removed, 204 when there was none (diagnosticsSettings_API.json,
      // 2017-05-01-preview and 2021-05-01-preview); live Azure answered 200 with an empty body to az's
      // `monitor diagnostic-settings delete` (az recording test_monitor_diagnostic_settings_scenario.yaml).
      method: 'DELETE',
      pattern: `${prefix}/providers/Microsoft.Insights/diagnosticSettings/{setting}`,
      operation: 'diagnosticSettings.delete',
      handler: (_request, p) => {
        const problem = scopeExists(p)
        if (problem) return problem
        const list = state().diagnosticSettings[scopeOf(p).toLowerCase()] ?? []
        const index = list.findIndex((s) => s.name.toLowerCase() === p.setting!.toLowerCase())
        if (index < 0) return {status: 204}
        list.splice(index, 1)
        return {status: 200}
      },
    },
  ])

  return [
    {method: 'GET', pattern: '/subscriptions', operation: 'subscriptions.list', handler: (request) => paged(request, [subscriptionView()])},
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}',
      operation: 'subscriptions.get',
      handler: (_request, p) => checkScope(ctx, p.sub!) ?? {status: 200, body: subscriptionView()},
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups',
      operation: 'resourceGroups.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.values(rgs()).map(rgView)),
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}',
      operation: 'resourceGroups.get',
      handler: (_request, p) => checkScope(ctx, p.sub!, p.rg!) ?? {status: 200, body: rgView(rgs()[p.rg!.toLowerCase()]!)},
    },
    {
      method: 'HEAD',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}',
      operation: 'resourceGroups.checkExistence',
      handler: (_request, p) => (checkScope(ctx, p.sub!, p.rg!) ? {status: 404} : {status: 204}),
    },
    {
      method: 'PUT',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}',
      operation: 'resourceGroups.createOrUpdate',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!)
        if (scope) return scope
        if (typeof request.body?.location !== 'string') return armError(400, 'LocationRequired', 'The location property is required for this definition.')
        const key = p.rg!.toLowerCase()
        const created = !rgs()[key]
        rgs()[key] = {name: rgs()[key]?.name ?? p.rg!, location: rgs()[key]?.location ?? request.body.location, tags: request.body.tags ?? rgs()[key]?.tags ?? {}}
        return {status: created ? 201 : 200, body: rgView(rgs()[key]!)}
      },
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resources',
      operation: 'resources.list',
      handler: (request, p) => {
        const scope = checkScope(ctx, p.sub!)
        if (scope) return scope
        const filter = /resourceType\s+eq\s+'([^']+)'/i.exec(request.query.get('$filter') ?? '')?.[1]?.toLowerCase()
        // Resources - List: every tracked resource of every type the emulator serves (top-level types, web app slots
        // and the App Service plans the sites reference), not only the ones opsbook tags.
        const tracked = [...allArmResources(ctx), ...appServicePlans(ctx)].filter((r) => {
          const type = String(r.type).toLowerCase()
          return type.split('/').length === 2 || type === 'microsoft.web/sites/slots'
        }) as Array<{id: string; name: string; type: string; location: string; tags?: Record<string, string>}>
        const all = tracked.filter((r) => !filter || r.type.toLowerCase() === filter)
        return paged(request, all.filter((r) => !r.type.toLowerCase().startsWith('microsoft.authorization/')).map((r) => ({id: r.id, name: r.name, type: r.type, location: r.location, tags: r.tags ?? {}})))
      },
    },
    // Tags at scope (Microsoft.Resources/tags/default)
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/providers/Microsoft.Resources/tags/default',
      operation: 'tags.get',
      handler: (_request, p) => {
        const target = taggable(ctx, scopeOf(p))
        return target ? {status: 200, body: tagsView(scopeOf(p), target.tags)} : resourceNotFound(`${p.ns}/${p.type}`, p.name!, p.rg!)
      },
    },
    ...(['PUT', 'PATCH'] as const).map(
      (method): Route => ({
        method,
        pattern: '/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/providers/Microsoft.Resources/tags/default',
        operation: method === 'PUT' ? 'tags.createOrUpdate' : 'tags.update',
        handler: (request, p) => {
          const target = taggable(ctx, scopeOf(p))
          if (!target) return resourceNotFound(`${p.ns}/${p.type}`, p.name!, p.rg!)
          const tags = request.body?.properties?.tags
          if (typeof tags !== 'object' || tags === null) return invalidBody('The request must set properties.tags.')
          const operation = method === 'PUT' ? 'Replace' : String(request.body.operation ?? 'Merge')
          if (operation === 'Replace') target.tags = {...tags}
          else if (operation === 'Merge') target.tags = {...target.tags, ...tags}
          else if (operation === 'Delete') for (const key of Object.keys(tags)) delete target.tags[key]
          else return armError(400, 'InvalidTagOperation', `The tag operation '${operation}' is invalid. Valid values are Replace, Merge and Delete.`)
          ctx.activity.append({resourceId: scopeOf(p), kind: 'tags.update', data: {operation}})
          return {status: 200, body: tagsView(scopeOf(p), target.tags)}
        },
      }),
    ),
    // Storage accounts
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts',
      operation: 'storage.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.values(state().storageAccounts).map((a) => clone(a.resource))),
    },
    {
      method: 'GET',
      pattern: SA,
      operation: 'storage.listByResourceGroup',
      handler: (request, p) =>
        checkScope(ctx, p.sub!, p.rg!) ??
        paged(request, Object.values(state().storageAccounts).filter((a) => a.resourceGroup.toLowerCase() === p.rg!.toLowerCase()).map((a) => clone(a.resource))),
    },
    {
      method: 'GET',
      pattern: `${SA}/{account}`,
      operation: 'storage.get',
      handler: (_request, p) => {
        const acct = account(p)
        return isAccount(acct) ? {status: 200, body: clone(acct.resource)} : acct
      },
    },
    {
      method: 'PATCH',
      pattern: `${SA}/{account}`,
      operation: 'storage.update',
      handler: (request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const props = request.body?.properties ?? {}
        for (const key of ['supportsHttpsTrafficOnly', 'minimumTlsVersion', 'allowBlobPublicAccess', 'allowSharedKeyAccess', 'publicNetworkAccess', 'allowCrossTenantReplication', 'keyPolicy'])
          if (props[key] !== undefined) acct.resource.properties[key] = clone(props[key])
        if (props.networkAcls) acct.resource.properties.networkAcls = {...acct.resource.properties.networkAcls, ...props.networkAcls}
        if (request.body?.tags) acct.resource.tags = {...request.body.tags}
        return {status: 200, body: clone(acct.resource)}
      },
    },
    {
      method: 'POST',
      pattern: `${SA}/{account}/listKeys`,
      operation: 'storage.listKeys',
      handler: (_request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        if (acct.resource.properties.allowSharedKeyAccess === false)
          return armError(409, 'KeyBasedAuthenticationNotPermitted', 'Key based authentication is not permitted on this storage account.')
        const created = acct.resource.properties.creationTime
        // Every account maps onto Azurite's single account, so key1 is Azurite's well-known key.
        return {
          status: 200,
          body: {
            keys: [
              {keyName: 'key1', value: ctx.blob.key, permissions: 'FULL', creationTime: created},
              {keyName: 'key2', value: Buffer.from(`opsbook-emulator-${acct.resource.name}-key2`).toString('base64'), permissions: 'FULL', creationTime: created},
            ],
          },
        }
      },
    },
    {
      method: 'GET',
      pattern: `${SA}/{account}/blobServices`,
      operation: 'storage.blobServices.list',
      handler: (request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        return {status: 200, body: {value: [blobServiceView(acct, apiVersionOf(request))]}}
      },
    },
    {
      method: 'GET',
      pattern: `${SA}/{account}/blobServices/default`,
      operation: 'storage.blobServices.get',
      handler: (request, p) => {
        const acct = account(p)
        return isAccount(acct) ? {status: 200, body: blobServiceView(acct, apiVersionOf(request))} : acct
      },
    },
    {
      method: 'GET',
      pattern: `${SA}/{account}/blobServices/default/containers`,
      operation: 'storage.containers.list',
      handler: async (request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const names: string[] = []
        for await (const c of (await blobService()).listContainers()) {
          const record = state().containers[c.name]
          if (!record || record.account.toLowerCase() === acct.resource.name.toLowerCase()) names.push(c.name)
        }
        const views = []
        for (const name of names) views.push(containerView(acct, name, (await containerOf(acct.resource.name, name))!))
        // BlobContainers_List documents no default page size, only the caller's optional `$maxpagesize`: one page unless
        // the caller asks for less (tests page it with StartEmulatorOptions.listPageSizes).
        const max = Number.parseInt(request.query.get('$maxpagesize') ?? '', 10)
        return paged(request, views, Number.isInteger(max) && max >= 1 ? max : undefined)
      },
    },
    {
      method: 'GET',
      pattern: containerRoute(''),
      operation: 'storage.containers.get',
      handler: async (_request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const record = await containerOf(acct.resource.name, p.container!)
        return record ? {status: 200, body: containerView(acct, p.container!, record)} : armError(404, 'ContainerNotFound', 'The specified container does not exist.')
      },
    },
    {
      method: 'PUT',
      pattern: containerRoute(''),
      operation: 'storage.containers.create',
      handler: async (request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const existing = state().containers[p.container!]
        if (existing && existing.account.toLowerCase() !== acct.resource.name.toLowerCase())
          return armError(409, 'ContainerAlreadyExists', `The container '${p.container}' already exists in storage account '${existing.account}'; the emulator maps every account onto one Azurite account, so container names must be unique across accounts.`)
        const props = request.body?.properties ?? {}
        if (props.publicAccess && props.publicAccess !== 'None' && !acct.resource.properties.allowBlobPublicAccess)
          return armError(409, 'PublicAccessNotPermitted', 'Public access is not permitted on this storage account.')
        await (await blobService()).getContainerClient(p.container!).createIfNotExists()
        const record: ContainerRecord = {
          ...(existing ?? {legalHoldTags: []}),
          account: acct.resource.name,
          publicAccess: props.publicAccess ?? existing?.publicAccess ?? 'None',
          metadata: props.metadata ?? existing?.metadata ?? {},
          lastModifiedTime: ctx.clock().toISOString(),
        }
        state().containers[p.container!] = record
        return {status: existing ? 200 : 201, body: containerView(acct, p.container!, record)}
      },
    },
    {
      method: 'PUT',
      pattern: containerRoute('/immutabilityPolicies/default'),
      operation: 'storage.containers.immutabilityPolicy.put',
      handler: async (request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const record = await containerOf(acct.resource.name, p.container!)
        if (!record) return armError(404, 'ContainerNotFound', 'The specified container does not exist.')
        if (record.immutabilityPolicy?.state === 'Locked')
          return armError(409, 'ContainerImmutabilityPolicyLocked', 'The immutability policy is locked and can only be extended.')
        const days = request.body?.properties?.immutabilityPeriodSinceCreationInDays
        if (!Number.isInteger(days) || days < 1 || days > 146000)
          return armError(400, 'InvalidImmutabilityPeriod', 'immutabilityPeriodSinceCreationInDays must be between 1 and 146000.')
        record.immutabilityPolicy = {immutabilityPeriodSinceCreationInDays: days, state: 'Unlocked', allowProtectedAppendWrites: Boolean(request.body.properties.allowProtectedAppendWrites), etag: `"${randomUUID()}"`}
        state().containers[p.container!] = record
        return immutabilityPolicyResponse(acct, p.container!, record)
      },
    },
    {
      method: 'GET',
      pattern: containerRoute('/immutabilityPolicies/default'),
      operation: 'storage.containers.immutabilityPolicy.get',
      handler: async (_request, p) => {
        const acct = account(p)
        if (!isAccount(acct)) return acct
        const record = await containerOf(acct.resource.name, p.container!)
        if (!record?.immutabilityPolicy) return armError(404, 'ImmutabilityPolicyNotFound', 'The container has no immutability policy.')
        return immutabilityPolicyResponse(acct, p.container!, record)
      },
    },
    ...(['setLegalHold', 'clearLegalHold'] as const).map(
      (action): Route => ({
        method: 'POST',
        pattern: containerRoute(`/${action}`),
        operation: `storage.containers.${action}`,
        handler: async (request, p) => {
          const acct = account(p)
          if (!isAccount(acct)) return acct
          const record = await containerOf(acct.resource.name, p.container!)
          if (!record) return armError(404, 'ContainerNotFound', 'The specified container does not exist.')
          const tags: unknown = request.body?.tags
          if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return invalidBody('The request must set tags (a list of strings).')
          record.legalHoldTags = action === 'setLegalHold' ? [...new Set([...record.legalHoldTags, ...tags])] : record.legalHoldTags.filter((t) => !tags.includes(t))
          state().containers[p.container!] = record
          return {status: 200, body: {hasLegalHold: record.legalHoldTags.length > 0, tags: record.legalHoldTags}}
        },
      }),
    ),
    // Key vaults
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults',
      operation: 'keyvault.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, Object.values(state().vaults).map((v) => clone(v.resource))),
    },
    {
      method: 'GET',
      pattern: KV,
      operation: 'keyvault.listByResourceGroup',
      handler: (request, p) =>
        checkScope(ctx, p.sub!, p.rg!) ??
        paged(request, Object.values(state().vaults).filter((v) => v.resourceGroup.toLowerCase() === p.rg!.toLowerCase()).map((v) => clone(v.resource))),
    },
    // Managed HSM pools: the catalog describes none, so both lists are empty (ManagedHsms_ListByResourceGroup /
    // ListBySubscription, keyvault managedHsm.json 2022-07-01: 200 ManagedHsmListResult). `az keyvault list` (az 2.45,
    // no --resource-type) asks for vaults and managed HSMs; the 404 'No route' it got before is not what Azure answers.
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/providers/Microsoft.KeyVault/managedHSMs',
      operation: 'keyvault.managedHsms.list',
      handler: (request, p) => checkScope(ctx, p.sub!) ?? paged(request, []),
    },
    {
      method: 'GET',
      pattern: '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/managedHSMs',
      operation: 'keyvault.managedHsms.listByResourceGroup',
      handler: (request, p) => checkScope(ctx, p.sub!, p.rg!) ?? paged(request, []),
    },
    {
      method: 'GET',
      pattern: `${KV}/{name}`,
      operation: 'keyvault.get',
      handler: (_request, p) => {
        const v = vault(p)
        return 'resource' in v ? {status: 200, body: clone(v.resource)} : v
      },
    },
    {
      method: 'PATCH',
      pattern: `${KV}/{name}`,
      operation: 'keyvault.update',
      handler: (request, p) => {
        const v = vault(p)
        if (!('resource' in v)) return v
        const props = request.body?.properties ?? {}
        if (props.enablePurgeProtection === false && v.resource.properties.enablePurgeProtection)
          return armError(400, 'BadRequest', 'Once enabled, purge protection cannot be disabled.')
        for (const key of ['enableSoftDelete', 'enablePurgeProtection', 'enableRbacAuthorization', 'publicNetworkAccess', 'softDeleteRetentionInDays'])
          if (props[key] !== undefined) v.resource.properties[key] = props[key]
        if (props.networkAcls) v.resource.properties.networkAcls = {...v.resource.properties.networkAcls, ...props.networkAcls}
        if (request.body?.tags) v.resource.tags = {...request.body.tags}
        return {status: 200, body: clone(v.resource)}
      },
    },
    ...vaultItemRoutes(ctx, vault),
    ...lockRoutes,
    ...diagRoutes,
  ]

  /**
   * BlobServiceProperties as the api-version asked for defines it. DeleteRetentionPolicy has no `allowPermanentDelete` at
   * 2021-06-01 (common.json of that version: `enabled` and `days` only,
   * https://github.com/Azure/azure-rest-api-specs/blob/main/specification/storage/resource-manager/Microsoft.Storage/stable/2021-06-01/common.json);
   * every later served version has it (2022-09-01 onwards).
   */
  function blobServiceView(acct: MiscState['storageAccounts'][string], apiVersion: string | undefined) {
    const properties = clone(acct.blobService)
    if (apiVersion !== undefined && apiVersion <= '2021-06-01')
      for (const policy of ['deleteRetentionPolicy', 'containerDeleteRetentionPolicy'] as const) if (properties[policy]) delete properties[policy].allowPermanentDelete
    return {
      id: `${acct.resource.id}/blobServices/default`,
      name: 'default',
      type: 'Microsoft.Storage/storageAccounts/blobServices',
      sku: acct.resource.sku,
      properties,
    }
  }
}

/** Every resource the emulator's own services hold (for `/resources` and tags). */
function allResources(ctx: EmulatorContext): Array<{id: string; name: string; type: string; location: string; tags: Record<string, string>}> {
  const arm = miscState(ctx)
  return [
    ...Object.values(postgresState(ctx).servers).map((s) => s.resource),
    ...Object.values(redisState(ctx).caches).map((c) => c.resource),
    ...Object.values(arm.storageAccounts).map((a) => a.resource),
    ...Object.values(arm.vaults).map((v) => v.resource),
  ]
}

function taggable(ctx: EmulatorContext, resourceId: string): {tags: Record<string, string>} | undefined {
  const key = resourceId.toLowerCase()
  return allResources(ctx).find((r) => r.id.toLowerCase() === key)
}

function tagsView(scope: string, tags: Record<string, string>): Record<string, unknown> {
  return {id: `${scope}/providers/Microsoft.Resources/tags/default`, name: 'default', type: 'Microsoft.Resources/tags', properties: {tags: {...tags}}}
}


// ── key vault keys and secrets (management plane) ──

const seconds = (at: Date) => Math.floor(at.getTime() / 1000)

function versionOf(text: string): string {
  let h = 0x811c9dc5
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0
  return `${h.toString(16).padStart(8, '0')}${'0'.repeat(24)}`
}

const KEY_TYPES = ['EC', 'EC-HSM', 'RSA', 'RSA-HSM']

/** Attributes from a request (`nbf`/`exp` in seconds, as the SDK serializes them), or a 400. */
function attributesFrom(body: unknown, at: Date, previous?: ItemAttributes): ItemAttributes | EmulatorResponse {
  const given = (body ?? {}) as Record<string, unknown>
  for (const key of ['nbf', 'exp'])
    if (given[key] !== undefined && given[key] !== null && (typeof given[key] !== 'number' || !Number.isFinite(given[key])))
      return invalidBody(`The parameter properties.attributes.${key} must be a time in seconds since 1970-01-01T00:00:00Z.`)
  if (given.enabled !== undefined && typeof given.enabled !== 'boolean') return invalidBody('The parameter properties.attributes.enabled must be a boolean.')
  const now = seconds(at)
  const next: ItemAttributes = {...(previous ?? {enabled: true, created: now}), updated: now} as ItemAttributes
  if (given.enabled !== undefined) next.enabled = given.enabled as boolean
  for (const key of ['nbf', 'exp'] as const) if (given[key] !== undefined) given[key] === null ? delete next[key] : (next[key] = given[key] as number)
  return next
}

function vaultItemRoutes(ctx: EmulatorContext, vaultOf: (p: Record<string, string>) => MiscState['vaults'][string] | EmulatorResponse): Route[] {
  const found = (v: MiscState['vaults'][string] | EmulatorResponse): v is MiscState['vaults'][string] => 'resource' in v
  // A vault from state saved before keys and secrets were modelled holds none, as a fresh vault.
  const vault = (p: Record<string, string>) => {
    const v = vaultOf(p)
    if (found(v) && v.keys === undefined && v.secrets === undefined) {
      v.keys = {}
      v.secrets = {}
    }
    return v
  }
  const keyView = (v: MiscState['vaults'][string], k: VaultKey) => ({
    id: `${v.resource.id}/keys/${k.name}`,
    name: k.name,
    type: 'Microsoft.KeyVault/vaults/keys',
    location: v.resource.location,
    tags: {...k.tags},
    properties: {
      attributes: {...k.attributes},
      kty: k.kty,
      keyOps: [...k.keyOps],
      ...(k.keySize ? {keySize: k.keySize} : {}),
      ...(k.curveName ? {curveName: k.curveName} : {}),
      keyUri: `${v.resource.properties.vaultUri}keys/${k.name}`,
      keyUriWithVersion: `${v.resource.properties.vaultUri}keys/${k.name}/${k.version}`,
      ...(k.rotationPolicy ? {rotationPolicy: clone(k.rotationPolicy)} : {}),
    },
  })
  const keyListView = (v: MiscState['vaults'][string], k: VaultKey) => {
    const full = keyView(v, k)
    return {...full, properties: {attributes: full.properties.attributes, keyUri: full.properties.keyUri}}
  }
  const secretView = (v: MiscState['vaults'][string], s: VaultSecret) => ({
    id: `${v.resource.id}/secrets/${s.name}`,
    name: s.name,
    type: 'Microsoft.KeyVault/vaults/secrets',
    location: v.resource.location,
    tags: {...s.tags},
    properties: {
      attributes: {...s.attributes},
      ...(s.contentType ? {contentType: s.contentType} : {}),
      secretUri: `${v.resource.properties.vaultUri}secrets/${s.name}`,
      secretUriWithVersion: `${v.resource.properties.vaultUri}secrets/${s.name}/${s.version}`,
    },
  })
  const itemNotFound = (kind: 'keys' | 'secrets', p: Record<string, string>, name: string) => resourceNotFound(`${VAULT}/${kind}`, `${p.name}/${name}`, p.rg!)
  // Page size of the management-plane key and secret lists: Keys_List / Secrets_List (keys.json, secrets.json
  // 2023-07-01) are x-ms-pageable ("paginated by continuation tokens", the Key Vault team in Azure/azure-rest-api-specs
  // #10643) but state no size; the only documented size for these collections is the data plane's, which this ARM
  // contract fronts: "If not specified the service will return up to 25 results", maxresults `minimum: 1, maximum: 25`
  // (GetKeys / GetSecrets / GetKeyVersions, data-plane/Microsoft.KeyVault/stable/7.4 and 7.5 keys.json, secrets.json;
  // confirmed again stop 28 in the fork gubalasu/azure-rest-api-specs at d9a3b783, where resource-manager
  // stable/2023-07-01 keys.json Keys_List takes no paging parameter and secrets.json Secrets_List only `$top`). Secrets_List's `$top` ("Maximum
  // number of results to return") sets a smaller page. Tests page smaller with StartEmulatorOptions.listPageSizes.
  // The 25 stays inferred: nothing states the management plane's own page size. Searched (stop 25, 2026-12-03): the
  // TypeSpec source (Azure/azure-rest-api-specs specification/keyvault/resource-manager/Microsoft.KeyVault/KeyVault/
  // Secret.tsp @ 2e81ca26: `$top?: int32`, "Maximum number of results to return.", no @maxValue; Key.tsp @ 9e1bfa5c:
  // Keys_List takes no $top) and the vendored 2026-02-01 openapi; azure-sdk-for-net Azure.ResourceManager.KeyVault
  // SessionRecords (VaultSecretTests/SecretCreateOrUpdateExistGetGetAll lists one secret, no nextLink); find_string for
  // "/secrets?$top=" and "/secrets?api-version=2019-09-01&$top=" (no hits); GitHub issues on Key Vault paging
  // (azure-cli #15382, #8921, #7311, azure-sdk-for-net #19802, #22641: all about the data plane's maxresults ≤ 25;
  // azure-sdk-for-net #3389: a vault list by resource group paged at 5, another collection). Searched again (stop 26,
  // 2026-12-03), no page of keys or secrets with a nextLink: azure-sdk-for-net Azure.ResourceManager.KeyVault
  // SessionRecords (24 files by name; ManagedHsmListKeys, read through, lists managed HSMs, not keys, in one page),
  // azure-sdk-for-js arm-keyvault recordings (vault create/get/list/update/delete only), Azure/azure-sdk-assets
  // (js arm-keyvault, python azure-mgmt-keyvault, net Azure.ResourceManager.KeyVault: vault and operations tests by
  // file name; net's one secret list holds one secret), find_string for "/keys?api-version=2023-07-01&$skiptoken" (no hit).
  const PAGE = 25
  const pageOf = (request: EmulatorRequest): number => {
    const top = Number.parseInt(request.query.get('$top') ?? '', 10)
    return Number.isInteger(top) && top >= 1 ? Math.min(top, PAGE) : PAGE
  }
  return [
    {
      method: 'GET',
      pattern: `${KV}/{name}/keys`,
      operation: 'keyvault.keys.list',
      handler: (request, p) => {
        const v = vault(p)
        // Keys_List returns each key's attributes and keyUri only — no kty, key ops or rotation policy (spec example
        // stable/2024-11-01 listKeys.json); Keys_Get returns the full key (getKey.json).
        return found(v) ? paged(request, Object.values(v.keys ?? {}).map((k) => keyListView(v, k)), PAGE) : v
      },
    },
    {
      method: 'GET',
      pattern: `${KV}/{name}/keys/{key}`,
      operation: 'keyvault.keys.get',
      handler: (_request, p) => {
        const v = vault(p)
        if (!found(v)) return v
        const key = v.keys?.[p.key!.toLowerCase()]
        return key ? {status: 200, body: keyView(v, key)} : itemNotFound('keys', p, p.key!)
      },
    },
    {
      // Keys_CreateIfNotExist: an existing key is returned unchanged.
      method: 'PUT',
      pattern: `${KV}/{name}/keys/{key}`,
      operation: 'keyvault.keys.createIfNotExist',
      handler: (request, p) => {
        const v = vault(p)
        if (!found(v)) return v
        if (!/^[0-9a-zA-Z-]{1,127}$/.test(p.key!)) return invalidBody(`The key name '${p.key}' is invalid: use 1-127 letters, digits and dashes.`)
        const existing = v.keys?.[p.key!.toLowerCase()]
        if (existing) return {status: 200, body: keyView(v, existing)}
        const props = request.body?.properties
        if (!props || typeof props !== 'object') return invalidBody('The request must have properties.')
        if (!KEY_TYPES.includes(String(props.kty))) return invalidBody(`The parameter properties.kty has an invalid value '${String(props.kty)}'. Allowed values: ${KEY_TYPES.join(', ')}.`)
        const attributes = attributesFrom(props.attributes, ctx.clock())
        if ('status' in attributes) return attributes
        const policy = props.rotationPolicy
        if (policy !== undefined && (typeof policy !== 'object' || (policy.lifetimeActions !== undefined && !Array.isArray(policy.lifetimeActions))))
          return invalidBody('The parameter properties.rotationPolicy.lifetimeActions must be a list.')
        const at = seconds(ctx.clock())
        const key: VaultKey = {
          name: p.key!,
          version: versionOf(`${p.key}:${at}`),
          kty: String(props.kty),
          ...(props.keySize ? {keySize: Number(props.keySize)} : {}),
          ...(props.curveName ? {curveName: String(props.curveName)} : {}),
          keyOps: Array.isArray(props.keyOps) ? props.keyOps.map(String) : [],
          attributes: {...attributes, created: at, updated: at, recoveryLevel: v.resource.properties.enablePurgeProtection ? 'Recoverable' : 'Recoverable+Purgeable', exportable: false},
          ...(policy ? {rotationPolicy: {attributes: {...(policy.attributes?.expiryTime ? {expiryTime: String(policy.attributes.expiryTime)} : {}), created: at, updated: at}, lifetimeActions: clone(policy.lifetimeActions ?? [])}} : {}),
          tags: {...(request.body?.tags ?? {})},
        }
        ;(v.keys ??= {})[key.name.toLowerCase()] = key
        return {status: 200, body: keyView(v, key)}
      },
    },
    {
      method: 'GET',
      pattern: `${KV}/{name}/secrets`,
      operation: 'keyvault.secrets.list',
      handler: (request, p) => {
        const v = vault(p)
        return found(v) ? paged(request, Object.values(v.secrets ?? {}).map((s) => secretView(v, s)), pageOf(request)) : v
      },
    },
    {
      method: 'GET',
      pattern: `${KV}/{name}/secrets/{secret}`,
      operation: 'keyvault.secrets.get',
      handler: (_request, p) => {
        const v = vault(p)
        if (!found(v)) return v
        const secret = v.secrets?.[p.secret!.toLowerCase()]
        return secret ? {status: 200, body: secretView(v, secret)} : itemNotFound('secrets', p, p.secret!)
      },
    },
    ...(['PUT', 'PATCH'] as const).map(
      (method): Route => ({
        method,
        pattern: `${KV}/{name}/secrets/{secret}`,
        operation: method === 'PUT' ? 'keyvault.secrets.createOrUpdate' : 'keyvault.secrets.update',
        handler: (request, p) => {
          const v = vault(p)
          if (!found(v)) return v
          if (!/^[0-9a-zA-Z-]{1,127}$/.test(p.secret!)) return invalidBody(`The secret name '${p.secret}' is invalid: use 1-127 letters, digits and dashes.`)
          const existing = v.secrets?.[p.secret!.toLowerCase()]
          if (method === 'PATCH' && !existing) return itemNotFound('secrets', p, p.secret!)
          const props = request.body?.properties
          if (method === 'PUT' && (!props || typeof props.value !== 'string')) return invalidBody('The parameter properties.value is required.')
          const attributes = attributesFrom(props?.attributes, ctx.clock(), existing?.attributes)
          if ('status' in attributes) return attributes
          // A new value is a new version; the value itself is dropped here on purpose.
          const secret: VaultSecret = {
            name: existing?.name ?? p.secret!,
            version: props?.value !== undefined || !existing ? versionOf(`${p.secret}:${attributes.updated}:${Math.random()}`) : existing.version,
            ...(props?.contentType !== undefined ? {contentType: String(props.contentType)} : existing?.contentType ? {contentType: existing.contentType} : {}),
            attributes,
            tags: request.body?.tags ? {...request.body.tags} : {...(existing?.tags ?? {})},
          }
          ;(v.secrets ??= {})[secret.name.toLowerCase()] = secret
          return {status: existing ? 200 : 201, body: secretView(v, secret)}
        },
      }),
    ),
  ]
}

/**
 * A diagnostic setting as api-version 2017-05-01-preview has it (@azure/arm-monitor 7 asks for it): that version's
 * DiagnosticSettings, LogSettings and MetricSettings (Microsoft.Insights/preview/2017-05-01-preview/
 * diagnosticsSettings_API.json) have no categoryGroup, marketplacePartnerId or other later fields.
 */
function diagnosticSettingsFor20170501(properties: Record<string, any>): Record<string, unknown> {
  const pick = (from: Record<string, any>, keys: string[]) => Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, clone(from[k])]))
  const out = pick(properties, ['storageAccountId', 'serviceBusRuleId', 'eventHubAuthorizationRuleId', 'eventHubName', 'workspaceId', 'logAnalyticsDestinationType'])
  if (Array.isArray(properties.metrics)) out.metrics = properties.metrics.map((m: Record<string, any>) => pick(m, ['timeGrain', 'category', 'enabled', 'retentionPolicy']))
  if (Array.isArray(properties.logs)) out.logs = properties.logs.map((l: Record<string, any>) => pick(l, ['category', 'enabled', 'retentionPolicy']))
  return out
}
