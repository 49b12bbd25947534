/**
 * The emulator's estate: settings of the catalog's resources that the catalog does not describe (firewall rules,
 * network access, TLS, diagnostic settings, locks, keys, Defender plans…). The emulator's world is exactly the
 * catalog's `cloud: emulator` environment, with every unset setting at Azure's documented default for the
 * api-version served, plus this estate. It is read from `opsbook.estate.yaml` beside the catalog, or chosen with
 * `opsbook emulator start --scenario insecure|compliant` (built here from the catalog's component names).
 *
 * Resources are keyed by their name in the catalog. Every key is optional; objects are deep-merged over what the
 * emulator would otherwise serve.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {z} from 'zod'
import {windowStartUtc} from '../checks/rules/window-utc.js'
import {amrMaintenancePlan} from '../catalog/managed-redis-maintenance.js'
import type {Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'
import {BUILT_IN_ROLES, builtInRole} from '../azure/permissions.js'
import {parseYamlSource, zodProblems} from '../support/yaml-source.js'

export const ESTATE_FILE = 'opsbook.estate.yaml'
export const SCENARIOS = ['insecure', 'compliant'] as const
export type Scenario = (typeof SCENARIOS)[number]

const json = z.record(z.string(), z.unknown())
const lock = z.object({name: z.string().min(1), level: z.enum(['CanNotDelete', 'ReadOnly'])}).strict()
const diagnosticSetting = z
  .object({
    name: z.string().min(1),
    /** A storage service (`blobServices`, `queueServices`, `tableServices`, `fileServices`) instead of the resource itself. */
    service: z.enum(['blobServices', 'queueServices', 'tableServices', 'fileServices']).optional(),
    logs: z.array(z.object({category: z.string().optional(), categoryGroup: z.string().optional(), enabled: z.boolean()}).strict()),
  })
  .strict()
const privateEndpoint = z
  .object({name: z.string().min(1), status: z.enum(['Approved', 'Pending', 'Rejected', 'Disconnected']).default('Approved'), slot: z.string().optional()})
  .strict()
const vaultItem = z.object({name: z.string().min(1), enabled: z.boolean().default(true), expires: z.string().optional(), rotateAfter: z.string().optional()}).strict()
/**
 * A Key Vault certificate (data plane): when it expires, its issuer (`Self`, `Unknown` = a manually managed
 * certificate, or a configured CA) and whether its policy renews it automatically (an AutoRenew lifetime action at
 * `lifetimePercentage` of its validity; otherwise only EmailContacts).
 */
const vaultCertificate = z
  .object({
    name: z.string().min(1),
    enabled: z.boolean().default(true),
    expires: z.string(),
    issuer: z.string().default('Self'),
    validityMonths: z.number().int().min(1).default(12),
    autoRenew: z.boolean().default(true),
    lifetimePercentage: z.number().int().min(1).max(99).default(80),
  })
  .strict()
const slotSettings = z
  .object({properties: json.optional(), siteConfig: json.optional(), identity: json.nullable().optional(), basicAuth: z.object({ftp: z.boolean(), scm: z.boolean()}).strict().optional(), authSettings: json.optional()})
  .strict()

const resourceSettings = z
  .object({
    /** Not deployed: the catalog names it but the emulator does not serve it (what `inventory.missing` reports). */
    absent: z.boolean().optional(),
    properties: json.optional(),
    sku: json.optional(),
    identity: json.nullable().optional(),
    zones: z.array(z.string()).optional(),
    tags: z.record(z.string(), z.string()).optional(),
    /** PostgreSQL server parameters. */
    configurations: z.record(z.string(), z.string()).optional(),
    /** PostgreSQL `{startIpAddress, endIpAddress}` or Redis `{startIP, endIP}` by rule name. */
    firewallRules: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    /** PostgreSQL Microsoft Entra administrators. */
    administrators: z.array(z.object({principalName: z.string(), principalType: z.enum(['User', 'Group', 'ServicePrincipal', 'Unknown']).default('Group'), objectId: z.string()}).strict()).optional(),
    /** Redis patch schedule entries. */
    patchSchedule: z.array(z.object({dayOfWeek: z.string(), startHourUtc: z.number().int(), maintenanceWindow: z.string().optional()}).strict()).optional(),
    /** App Service: config/web, basic-auth policies and authsettingsV2 of production; `slots` for the others. */
    siteConfig: json.optional(),
    basicAuth: z.object({ftp: z.boolean(), scm: z.boolean()}).strict().optional(),
    authSettings: json.optional(),
    slots: z.record(z.string(), slotSettings).optional(),
    /** The App Service plan the site runs on. */
    plan: z.object({sku: json.optional(), properties: json.optional()}).strict().optional(),
    /** Managed Redis: properties of the cluster's database (accessKeysAuthentication, persistence). */
    database: json.optional(),
    blobService: json.optional(),
    fileService: json.optional(),
    diagnosticSettings: z.array(diagnosticSetting).optional(),
    locks: z.array(lock).optional(),
    privateEndpoints: z.array(privateEndpoint).optional(),
    keys: z.array(vaultItem).optional(),
    secrets: z.array(vaultItem).optional(),
    certificates: z.array(vaultCertificate).optional(),
  })
  .strict()

/**
 * An identity the emulator's token endpoint can sign in as (OPSBOOK_EMULATOR_IDENTITY=<name>), with its Azure role
 * assignments: what the permissions API (Microsoft.Authorization/permissions) answers for it. A token for any other
 * principal (the default one) holds Owner and Storage Blob Data Owner on the subscription.
 */
const identity = z
  .object({
    /** The principal's object id (the token's `oid`); default: derived from the name. */
    objectId: z.string().min(1).optional(),
    /** Client id, as AZURE_CLIENT_ID would name a user-assigned managed identity. */
    clientId: z.string().min(1).optional(),
    roles: z
      .array(
        z
          .object({
            /** A built-in role name: Reader, Contributor, Owner, Storage Blob Data Reader/Contributor, Redis Cache Contributor, Website Contributor. */
            role: z.string().min(1),
            /** The subscription (default), a resource group name, or an ARM scope (/subscriptions/…/resourceGroups/…). */
            scope: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()

const subscriptionId = z.string().regex(/^[0-9a-fA-F-]{36}$/, 'expected a subscription id (GUID)')

/**
 * A fleet: further subscriptions this emulator serves, each a copy of the environment's own (same resource groups
 * and resources, ids under its own subscription; see ../fleet.ts), and management groups over them, so fleet scans
 * (`opsbook check --scope mg:<id>`) page Resource Graph across many subscriptions offline.
 */
const fleet = z
  .object({
    subscriptions: z.array(subscriptionId).default([]),
    managementGroups: z
      .record(
        z.string().regex(/^[A-Za-z0-9._()-]{1,90}$/, 'expected a management group id (letters, digits, -, _, ., parentheses; up to 90)'),
        z.object({subscriptions: z.array(subscriptionId).default([]), children: z.array(z.string()).default([])}).strict(),
      )
      .default({}),
  })
  .strict()

export const estateSchema = z
  .object({
    /** Principals the emulator knows, with their role assignments (see `identity`). */
    identities: z.record(z.string(), identity).optional(),
    fleet: fleet.optional(),
    /**
     * Resource Graph: the api-version its stored GET of a resource type uses (lower-cased type → version). Azure's
     * Resource Graph "uses a GET to the latest non-preview API of each resource provider … As a result, the property
     * expected may not be available. In some cases, the API version used has been overridden"
     * (https://learn.microsoft.com/azure/governance/resource-graph/overview#how-resource-graph-is-kept-current); the
     * emulator's default is the newest stable version it serves for the type. Honoured for
     * microsoft.cache/redisenterprise (a version before 2025-08-01-preview leaves maintenanceConfiguration out of the
     * rows, as that version's GET does).
     */
    resourceGraph: z.object({apiVersions: z.record(z.string(), z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'expected an api-version such as 2025-07-01'))}).strict().optional(),
    /** Subscription-wide settings. */
    subscription: z.object({locks: z.array(lock).optional(), defenderPlans: z.record(z.string(), z.enum(['Free', 'Standard'])).optional()}).strict().optional(),
    resources: z.record(z.string(), resourceSettings).default({}),
  })
  .strict()

export type Estate = z.infer<typeof estateSchema>
export type EstateResource = z.infer<typeof resourceSettings>
export type EstateIdentity = z.infer<typeof identity>

/** Parse an estate file; problems come back with file:line:col (exit 2). */
export function parseEstate(file: string, text: string, environment?: Environment): Estate {
  const source = parseYamlSource(file, text)
  const problems = [...source.problems]
  let estate: Estate | undefined
  if (source.value !== undefined) {
    const parsed = estateSchema.safeParse(source.value ?? {})
    if (parsed.success) estate = parsed.data
    else problems.push(...zodProblems(parsed.error, source))
  }
  if (estate)
    for (const [name, who] of Object.entries(estate.identities ?? {}))
      who.roles.forEach((assignment, index) => {
        if (!builtInRole(assignment.role))
          problems.push({
            location: source.locate(['identities', name, 'roles', index, 'role']),
            code: 'unknown-role',
            message: `role "${assignment.role}" is not a built-in role the emulator knows (${BUILT_IN_ROLES.map((r) => r.name).join(', ')})`,
          })
      })
  if (estate && environment) {
    const names = new Set(Object.values(environment.components).map((c) => c.name.toLowerCase()))
    for (const name of Object.keys(estate.resources))
      if (!names.has(name.toLowerCase()))
        problems.push({
          location: source.locate(['resources', name]),
          code: 'unknown-resource',
          message: `estate resource "${name}" is not a component of the environment (components: ${[...names].join(', ') || 'none'})`,
        })
  }
  if (estate?.fleet && environment) {
    const served = new Set([environment.subscription, ...estate.fleet.subscriptions].map((s) => s.toLowerCase()))
    for (const [id, group] of Object.entries(estate.fleet.managementGroups)) {
      group.subscriptions.forEach((sub, index) => {
        if (!served.has(sub.toLowerCase()))
          problems.push({location: source.locate(['fleet', 'managementGroups', id, 'subscriptions', index]), code: 'unknown-subscription', message: `subscription ${sub} is neither the environment's nor one of fleet.subscriptions`})
      })
      group.children.forEach((child, index) => {
        if (!estate!.fleet!.managementGroups[child])
          problems.push({location: source.locate(['fleet', 'managementGroups', id, 'children', index]), code: 'unknown-management-group', message: `child management group "${child}" is not declared under fleet.managementGroups`})
      })
    }
  }
  if (problems.length > 0 || !estate) throw new ValidationError(problems, `estate ${file} is invalid:`)
  return estate
}

/** The estate file beside a catalog file, parsed, or undefined when there is none. */
export function loadEstateBeside(catalogFile: string | undefined, environment: Environment): Estate | undefined {
  if (!catalogFile) return undefined
  const file = join(dirname(catalogFile), ESTATE_FILE)
  if (!existsSync(file)) return undefined
  return parseEstate(file, readFileSync(file, 'utf8'), environment)
}

const DAY = 86_400_000

/**
 * `--scenario insecure`: every component gets the weakest settings Azure allows, so every check of `opsbook check`
 * fails at least once (production-only checks — st.replication, st.geo_replication, redis.zones, app.plan.* — when the environment is
 * marked `production`; catalog checks — backup retention, maintenance windows, health path, tags — where the catalog
 * sets the expectation). docs/checks.md lists what it sets.
 */
export function insecureEstate(environment: Environment, now: Date): Estate {
  const resources: Record<string, EstateResource> = {}
  const old = new Date(now.getTime() - 400 * DAY).toISOString()
  for (const component of Object.values(environment.components)) {
    const tags = {owner: 'unknown'}
    switch (component.type) {
      case 'postgres':
        resources[component.name] = {
          tags,
          properties: {
            network: {publicNetworkAccess: 'Enabled'},
            authConfig: {activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled'},
            backup: {backupRetentionDays: 1, geoRedundantBackup: 'Disabled'},
            highAvailability: {mode: 'Disabled'},
            maintenanceWindow: {customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0},
          },
          configurations: {
            require_secure_transport: 'off',
            ssl_min_protocol_version: 'TLSv1',
            log_checkpoints: 'off',
            log_connections: 'off',
            log_disconnections: 'off',
            'connection_throttle.enable': 'off',
            'logfiles.retention_days': '1',
          },
          firewallRules: {
            AllowAllAzureServicesAndResourcesWithinAzureIps: {startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0'},
            AllowAll: {startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255'},
          },
          diagnosticSettings: [],
          locks: [],
        }
        break
      case 'managedredis':
        resources[component.name] = {
          tags,
          properties: {minimumTlsVersion: '1.0', publicNetworkAccess: 'Enabled'},
          database: {accessKeysAuthentication: 'Enabled', persistence: {aofEnabled: false, rdbEnabled: false}},
        }
        break
      case 'redis':
        resources[component.name] = {
          tags,
          sku: {name: 'Basic', family: 'C', capacity: 0},
          properties: {
            enableNonSslPort: true,
            minimumTlsVersion: '1.0',
            publicNetworkAccess: 'Enabled',
            disableAccessKeyAuthentication: false,
            redisVersion: '4.0.14',
            redisConfiguration: {'aad-enabled': 'false', 'maxmemory-reserved': '0'},
            sku: {name: 'Basic', family: 'C', capacity: 0},
          },
          firewallRules: {AllowAll: {startIP: '0.0.0.0', endIP: '255.255.255.255'}},
          patchSchedule: [{dayOfWeek: 'Everyday', startHourUtc: 12}],
          diagnosticSettings: [],
          locks: [],
        }
        break
      case 'webapp': {
        const insecureApp = {
          properties: {httpsOnly: false, publicNetworkAccess: 'Enabled', clientCertEnabled: false, clientAffinityEnabled: true},
          identity: null,
          siteConfig: {
            minTlsVersion: '1.0',
            scmMinTlsVersion: '1.0',
            ftpsState: 'AllAllowed',
            remoteDebuggingEnabled: true,
            http20Enabled: false,
            alwaysOn: false,
            healthCheckPath: '',
            cors: {allowedOrigins: ['*'], supportCredentials: false},
            linuxFxVersion: 'NODE|16-lts',
            ipSecurityRestrictionsDefaultAction: 'Allow',
            scmIpSecurityRestrictionsDefaultAction: 'Allow',
          },
          basicAuth: {ftp: true, scm: true},
          authSettings: {platform: {enabled: false}},
        }
        resources[component.name] = {
          tags,
          ...insecureApp,
          // Slots differ from production (slot parity): the slot keeps TLS 1.2, production does not.
          slots: Object.fromEntries(component.slots.map((slot) => [slot, {...insecureApp, siteConfig: {...insecureApp.siteConfig, minTlsVersion: '1.2'}}])),
          plan: {sku: {name: 'B1', tier: 'Basic', capacity: 1}, properties: {zoneRedundant: false}},
          diagnosticSettings: [],
        }
        break
      }
      case 'storage':
        resources[component.name] = {
          tags,
          sku: {name: 'Standard_LRS', tier: 'Standard'},
          properties: {
            supportsHttpsTrafficOnly: false,
            minimumTlsVersion: 'TLS1_0',
            allowBlobPublicAccess: true,
            allowSharedKeyAccess: true,
            defaultToOAuthAuthentication: false,
            publicNetworkAccess: 'Enabled',
            // bypass None: trusted Microsoft services blocked (st.trusted_services) although everyone else is allowed.
            networkAcls: {bypass: 'None', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: []},
            allowCrossTenantReplication: true,
            keyCreationTime: {key1: old, key2: old},
          },
          blobService: {deleteRetentionPolicy: {enabled: false}, containerDeleteRetentionPolicy: {enabled: false}, isVersioningEnabled: false},
          fileService: {shareDeleteRetentionPolicy: {enabled: false}},
          diagnosticSettings: [],
          locks: [],
        }
        break
      case 'keyvault':
        resources[component.name] = {
          tags,
          properties: {
            enableSoftDelete: false,
            enablePurgeProtection: null,
            enableRbacAuthorization: false,
            publicNetworkAccess: 'Enabled',
            networkAcls: {bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: []},
          },
          keys: [{name: 'never-rotated', enabled: true}],
          secrets: [{name: 'never-expires', enabled: true}],
          // Expires in 10 days, managed by hand (issuer Unknown), its policy only emails the contacts, and it was
          // issued for two years (longer than CIS 8.3.11's 12 months).
          certificates: [{name: 'tls-manual', enabled: true, expires: new Date(now.getTime() + 10 * DAY).toISOString(), issuer: 'Unknown', validityMonths: 24, autoRenew: false, lifetimePercentage: 80}],
          diagnosticSettings: [],
          locks: [],
        }
        break
      // Azure SQL: the server's settings are keyed by the server's name, the database's by its own.
      case 'sqldb':
        for (const server of [component.server, ...component.geoReplicas.map((r) => r.server)])
          resources[server] = {tags, properties: {publicNetworkAccess: 'Enabled', minimalTlsVersion: 'None', administrators: {azureADOnlyAuthentication: false}}}
        resources[component.name] = {tags, properties: {currentBackupStorageRedundancy: 'Local', requestedBackupStorageRedundancy: 'Local', backupRetentionDays: 1}}
        break
      case 'servicebus':
        resources[component.name] = {tags, properties: {publicNetworkAccess: 'Enabled', minimumTlsVersion: '1.0', disableLocalAuth: false}}
        break
      // Cosmos DB (cosmos-db.json DatabaseAccountGetProperties): TLS 1.0 accepted, keys accepted, periodic backup.
      case 'cosmosdb':
        resources[component.name] = {
          tags,
          properties: {publicNetworkAccess: 'Enabled', minimalTlsVersion: 'Tls', disableLocalAuth: false, backupPolicy: {type: 'Periodic', periodicModeProperties: {backupIntervalInMinutes: 240, backupRetentionIntervalInHours: 8, backupStorageRedundancy: 'Local'}}},
        }
        break
      // Traffic Manager probing endpoints over plain HTTP; Front Door serving plain HTTP without a WAF policy.
      case 'trafficmanager':
        // …and only its first endpoint enabled: nothing to fail over to.
        resources[component.name] = {
          tags,
          properties: {
            monitorConfig: {protocol: 'HTTP', port: 80, path: '/', intervalInSeconds: 30, timeoutInSeconds: 10, toleratedNumberOfFailures: 3},
            endpointStatus: Object.fromEntries(component.endpoints.map((e, i) => [e.name, i === 0 ? 'Enabled' : 'Disabled'])),
          },
        }
        break
      case 'frontdoor':
        // …and a custom domain still at a TLS 1.0 minimum (AFDDomainHttpsParameters.minimumTlsVersion TLS10, allowed
        // by afdx.json 2024-02-01; Azure disallows it since 1 March 2025, so this is a profile from before).
        resources[component.name] = {
          tags,
          properties: {
            route: {supportedProtocols: ['Http', 'Https'], httpsRedirect: 'Disabled'},
            securityPolicies: [],
            customDomains: [{name: 'legacy-domain', properties: {hostName: `legacy.${component.name}.example.com`, tlsSettings: {certificateType: 'ManagedCertificate', minimumTlsVersion: 'TLS10'}}}],
          },
        }
        break
    }
  }
  return {subscription: {locks: [], defenderPlans: {AppServices: 'Free', StorageAccounts: 'Free', KeyVaults: 'Free', OpenSourceRelationalDatabases: 'Free', Arm: 'Free'}}, resources}
}

/**
 * `--scenario compliant`: every component configured as the checks want (and as the catalog asks), so every check
 * passes or is not applicable. Catalog expectations (retention, windows, health path) come from the catalog itself.
 */
export function compliantEstate(environment: Environment, now: Date): Estate {
  const resources: Record<string, EstateResource> = {}
  const recent = new Date(now.getTime() - 10 * DAY).toISOString()
  const inAYear = new Date(now.getTime() + 365 * DAY).toISOString()
  const audit = (name: string) => ({name, logs: [{categoryGroup: 'audit', enabled: true}, {categoryGroup: 'allLogs', enabled: true}]})
  // The catalog's maintenance windows, in UTC as PostgreSQL and Redis take them.
  const windowOf = (name: string | undefined) => (name && environment.windows[name] ? windowStartUtc(environment.windows[name]!, now) : undefined)
  const tags = Object.fromEntries(environment.requiredTags.map((t) => [t, 'set']))
  for (const component of Object.values(environment.components)) {
    switch (component.type) {
      case 'postgres': {
        const server = (replica: boolean): EstateResource => ({
            tags: {...tags, ...component.tags},
            properties: {
              network: {publicNetworkAccess: 'Disabled'},
              authConfig: {activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled'},
              backup: {backupRetentionDays: Math.max(component.backupRetentionDays, 7), geoRedundantBackup: 'Enabled'},
              ...(replica ? {} : {highAvailability: {mode: component.highAvailability === 'Disabled' ? 'ZoneRedundant' : component.highAvailability}}),
              // A custom window either way (pg.maintenance.window): the catalog's, or Sunday 02:00 UTC when it names none.
              maintenanceWindow: windowOf(component.window)
                ? {customWindow: 'Enabled', dayOfWeek: windowOf(component.window)!.dayOfWeek, startHour: windowOf(component.window)!.hour, startMinute: windowOf(component.window)!.minute}
                : {customWindow: 'Enabled', dayOfWeek: 0, startHour: 2, startMinute: 0},
            },
            configurations: {
              require_secure_transport: 'on',
              ssl_min_protocol_version: 'TLSv1.2',
              log_checkpoints: 'on',
              log_connections: 'on',
              log_disconnections: 'on',
              'connection_throttle.enable': 'on',
              'logfiles.retention_days': '7',
            },
            firewallRules: {},
            administrators: [{principalName: 'db-admins', principalType: 'Group', objectId: '00000000-0000-0000-0000-0000000000ad'}],
            diagnosticSettings: [audit('audit')],
            locks: [{name: 'do-not-delete', level: 'CanNotDelete'}],
          })
        resources[component.name] = server(false)
        // Its read replicas are servers the checks read too (a replica takes no HA of its own:
        // https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas#considerations).
        for (const replica of component.replicas ?? []) resources[replica.name] = server(true)
        break
      }
      case 'managedredis': {
        // The catalog's windows as scheduled maintenance windows, where Azure can take them (managed-redis-maintenance.ts).
        const maintenance = amrMaintenancePlan(environment, component, now)
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          properties: {
            minimumTlsVersion: '1.2',
            publicNetworkAccess: 'Disabled',
            ...(maintenance.windows.length ? {maintenanceConfiguration: {maintenanceWindows: maintenance.windows}} : {}),
          },
          database: {accessKeysAuthentication: 'Disabled', persistence: {aofEnabled: false, rdbEnabled: true, rdbFrequency: '1h'}},
        }
        break
      }
      case 'redis':
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          sku: {name: 'Premium', family: 'P', capacity: 1},
          zones: ['1', '2', '3'],
          properties: {
            enableNonSslPort: false,
            minimumTlsVersion: '1.2',
            publicNetworkAccess: 'Disabled',
            disableAccessKeyAuthentication: true,
            redisVersion: '6.0',
            redisConfiguration: {'aad-enabled': 'true', 'maxmemory-reserved': '615'},
            // A node in each of the three zones (redis.zones: replicasPerMaster ≥ zones − 1).
            replicasPerMaster: 2,
            sku: {name: 'Premium', family: 'P', capacity: 1},
          },
          firewallRules: {},
          ...(windowOf(component.window) ? {patchSchedule: [{dayOfWeek: windowOf(component.window)!.day, startHourUtc: windowOf(component.window)!.hour, maintenanceWindow: 'PT5H'}]} : {}),
          privateEndpoints: [{name: `pe-${component.name}`, status: 'Approved'}],
          diagnosticSettings: [audit('audit')],
          locks: [{name: 'do-not-delete', level: 'CanNotDelete'}],
        }
        break
      case 'webapp': {
        const secureApp = {
          properties: {httpsOnly: true, publicNetworkAccess: 'Disabled', clientCertEnabled: true, clientCertMode: 'Required', clientAffinityEnabled: false, virtualNetworkSubnetId: `/subscriptions/${environment.subscription}/resourceGroups/${environment.resourceGroups[0]}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/apps`},
          siteConfig: {
            minTlsVersion: '1.2',
            scmMinTlsVersion: '1.2',
            ftpsState: 'Disabled',
            remoteDebuggingEnabled: false,
            http20Enabled: true,
            alwaysOn: true,
            healthCheckPath: component.healthPath,
            cors: {allowedOrigins: [], supportCredentials: false},
            linuxFxVersion: 'NODE|22-lts',
            vnetRouteAllEnabled: true,
            ipSecurityRestrictionsDefaultAction: 'Deny',
            scmIpSecurityRestrictionsDefaultAction: 'Deny',
          },
          basicAuth: {ftp: false, scm: false},
          authSettings: {platform: {enabled: true}},
        }
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          ...secureApp,
          slots: Object.fromEntries(component.slots.map((slot) => [slot, secureApp])),
          plan: {sku: {name: 'P1v3', tier: 'PremiumV3', capacity: 3}, properties: {zoneRedundant: true}},
          diagnosticSettings: [audit('audit'), {name: 'http', logs: [{category: 'AppServiceHTTPLogs', enabled: true}]}],
        }
        break
      }
      case 'storage':
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          sku: {name: 'Standard_GZRS', tier: 'Standard'},
          properties: {
            supportsHttpsTrafficOnly: true,
            minimumTlsVersion: 'TLS1_2',
            allowBlobPublicAccess: false,
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            publicNetworkAccess: 'Disabled',
            networkAcls: {bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [], virtualNetworkRules: []},
            allowCrossTenantReplication: false,
            keyPolicy: {keyExpirationPeriodInDays: 90},
            keyCreationTime: {key1: recent, key2: recent},
            sasPolicy: {sasExpirationPeriod: '1.00:00:00', expirationAction: 'Block'},
          },
          privateEndpoints: [{name: `pe-${component.name}`, status: 'Approved'}],
          blobService: {deleteRetentionPolicy: {enabled: true, days: 14}, containerDeleteRetentionPolicy: {enabled: true, days: 14}, isVersioningEnabled: true},
          fileService: {shareDeleteRetentionPolicy: {enabled: true, days: 14}},
          diagnosticSettings: (['blobServices', 'queueServices', 'tableServices', 'fileServices'] as const).map((service) => ({...audit(`audit-${service}`), service})),
          locks: [{name: 'do-not-delete', level: 'CanNotDelete'}],
        }
        break
      case 'keyvault':
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          properties: {
            enableSoftDelete: true,
            enablePurgeProtection: true,
            enableRbacAuthorization: true,
            publicNetworkAccess: 'Disabled',
            networkAcls: {bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [], virtualNetworkRules: []},
          },
          privateEndpoints: [{name: `pe-${component.name}`, status: 'Approved'}],
          keys: [{name: 'cmk', enabled: true, expires: inAYear, rotateAfter: 'P90D'}],
          secrets: [{name: 'api-token', enabled: true, expires: inAYear}],
          certificates: [{name: 'tls-auto', enabled: true, expires: inAYear, issuer: 'Self', validityMonths: 12, autoRenew: true, lifetimePercentage: 80}],
          diagnosticSettings: [{name: 'audit', logs: [{category: 'AuditEvent', enabled: true}]}],
          locks: [{name: 'do-not-delete', level: 'CanNotDelete'}],
        }
        break
      case 'sqldb':
        for (const server of [component.server, ...component.geoReplicas.map((r) => r.server)])
          resources[server] = {tags: {...tags, ...component.tags}, properties: {publicNetworkAccess: 'Disabled', minimalTlsVersion: '1.2', administrators: {azureADOnlyAuthentication: true}}}
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          properties: {currentBackupStorageRedundancy: 'Geo', requestedBackupStorageRedundancy: 'Geo', backupRetentionDays: component.backupRetentionDays},
        }
        break
      case 'servicebus':
        resources[component.name] = {tags: {...tags, ...component.tags}, properties: {publicNetworkAccess: 'Disabled', minimumTlsVersion: '1.2', disableLocalAuth: true}}
        break
      case 'cosmosdb':
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          properties: {publicNetworkAccess: 'Disabled', minimalTlsVersion: 'Tls12', disableLocalAuth: true, backupPolicy: {type: 'Continuous', continuousModeProperties: {tier: 'Continuous30Days'}}},
        }
        break
      case 'trafficmanager':
        resources[component.name] = {
          tags: {...tags, ...component.tags},
          properties: {monitorConfig: {protocol: 'HTTPS', port: 443, path: component.monitor?.path ?? '/health', intervalInSeconds: 30, timeoutInSeconds: 10, toleratedNumberOfFailures: 3}},
        }
        break
      case 'frontdoor':
        resources[component.name] = {tags: {...tags, ...component.tags}, properties: {
            route: {supportedProtocols: ['Https'], httpsRedirect: 'Enabled'},
            wafPolicy: component.waf ?? `waf${component.name.replace(/[^A-Za-z0-9]/g, '')}`,
            wafMode: 'Prevention',
            customDomains: [{name: 'www', properties: {hostName: `www.${component.name}.example.com`, tlsSettings: {certificateType: 'ManagedCertificate', minimumTlsVersion: 'TLS12'}}}],
          },
        }
        break
    }
  }
  return {subscription: {locks: [], defenderPlans: {AppServices: 'Standard', StorageAccounts: 'Standard', KeyVaults: 'Standard', OpenSourceRelationalDatabases: 'Standard', Arm: 'Standard'}}, resources}
}

/** The estate for a scenario name. */
export function scenarioEstate(scenario: Scenario, environment: Environment, now: Date): Estate {
  return scenario === 'insecure' ? insecureEstate(environment, now) : compliantEstate(environment, now)
}
