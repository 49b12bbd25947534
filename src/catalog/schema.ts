/**
 * The catalog (`runbooks.yaml`): environments, their components, recovery objectives, maintenance windows,
 * change freezes, evidence sinks and policies. One zod schema is the source of truth; `schema/catalog.schema.json`
 * is generated from it for editors.
 */
import {z} from 'zod'
import {isDuration, parseDuration} from '../support/duration.js'

const parseDurationMinutes = (value: string): number => (parseDuration(value) ?? 0) / 60_000

export const isoDuration = z
  .string()
  .refine((v) => isDuration(v), {message: 'expected an ISO-8601 duration such as PT15M, PT1H or P1D'})
  .describe('ISO-8601 duration, e.g. PT15M, PT1H, P1D')

const hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time as HH:MM (24-hour), e.g. 02:00')
  .describe('Local time HH:MM (24-hour) in the window\'s time zone')

export const weekday = z.enum(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])
export type Weekday = z.infer<typeof weekday>

const isoDateTime = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v)), {
    message: 'expected an ISO-8601 date or date-time, e.g. 2026-12-20 or 2026-12-20T18:00:00Z',
  })

const timeZone = z
  .string()
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', {timeZone: tz})
        return true
      } catch {
        return false
      }
    },
    {message: 'expected an IANA time zone such as UTC or Europe/Berlin'},
  )
  .describe('IANA time zone, e.g. UTC, Europe/Berlin')

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD, e.g. 2026-12-05')
  .refine((v) => !Number.isNaN(Date.parse(v)), {message: 'expected a real calendar date (YYYY-MM-DD)'})

export const maintenanceWindowSchema = z
  .strictObject({
    recurrence: z.enum(['weekly', 'biweekly', 'monthly', 'once']).describe('How often the window opens; `once`: only on the `dates` listed'),
    day: weekday.optional().describe('Day of the week the window starts on (weekly, biweekly, monthly)'),
    start: hhmm,
    end: hhmm.describe('Local end time; earlier than start means the window crosses midnight'),
    timeZone: timeZone.default('UTC'),
    anchor: isoDateTime.optional().describe('biweekly: a date inside a week in which the window opens'),
    week: z
      .union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal('last')])
      .optional()
      .describe('monthly: which occurrence of `day` in the month (1-4 or last); left open, opsbook assumes 1 and says so'),
    dates: z.array(isoDate).min(1).optional().describe('once: the local dates (YYYY-MM-DD) the window opens on'),
    description: z.string().optional(),
  })
  .superRefine((w, ctx) => {
    if (w.recurrence !== 'once' && !w.day)
      ctx.addIssue({code: 'custom', path: ['day'], message: `a ${w.recurrence} window needs day: Monday … Sunday`})
    if (w.recurrence === 'once' && !w.dates)
      ctx.addIssue({code: 'custom', path: ['dates'], message: 'a one-off window (recurrence: once) needs dates: ["YYYY-MM-DD", …]'})
    if (w.recurrence !== 'once' && w.dates)
      ctx.addIssue({code: 'custom', path: ['dates'], message: 'dates is only for recurrence: once'})
    if (w.recurrence === 'biweekly' && !w.anchor)
      ctx.addIssue({code: 'custom', path: ['anchor'], message: 'a biweekly window needs an anchor date (a day in a week when it opens)'})
    if (w.start === w.end) ctx.addIssue({code: 'custom', path: ['end'], message: 'end must differ from start'})
  })
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>

export const objectivesSchema = z
  .strictObject({
    rto: isoDuration.optional().describe('Recovery time objective: start of recovery to verified service'),
    rpo: isoDuration.optional().describe('Recovery point objective: the most data loss allowed'),
    crossRegion: z.boolean().default(false).describe('The objectives must hold when the primary region is lost'),
  })
  .describe('Recovery objectives')
export type Objectives = z.infer<typeof objectivesSchema>

const componentBase = {
  name: z.string().min(1).describe('The Azure resource name'),
  resourceGroup: z.string().optional().describe('Resource group; defaults to the environment\'s first resource group'),
  description: z.string().optional(),
  objectives: objectivesSchema.optional(),
  window: z.string().optional().describe('Name of a maintenance window of this environment'),
  windows: z.array(z.string()).optional().describe('Names of several maintenance windows of this environment (e.g. weekly and a monthly patch window); any one open is enough'),
  region: z.string().optional().describe('Azure region of the resource when it differs from the environment\'s (e.g. a DR copy in the paired region)'),
  tags: z.record(z.string(), z.string()).optional().describe('Tags the resource carries (seeded into the emulator)'),
  tier: z.enum(['tier-1', 'tier-2', 'tier-3']).optional().describe('Criticality, used by coverage reports'),
}

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'expected a table name such as orders or sales.orders')

/**
 * How opsbook reads the data of a PostgreSQL server and of a restored copy of it (dr-drill, pg-pitr). Credentials are
 * never written here: a Microsoft Entra token (DefaultAzureCredential, the Azure Database for PostgreSQL scope), a Key
 * Vault secret, or an OPSBOOK_PARAM_* environment variable.
 */
export const postgresDataProbesSchema = z
  .strictObject({
    databases: z.array(z.string().min(1)).min(1).default(['postgres']).describe('Databases to probe; the freshness query runs in the first'),
    user: z.string().min(1).describe('Login: the Entra principal name (auth: entra) or a PostgreSQL role'),
    auth: z
      .discriminatedUnion('type', [
        z.strictObject({type: z.literal('entra')}).describe('A Microsoft Entra token from DefaultAzureCredential as the password'),
        z.strictObject({type: z.literal('keyVaultSecret'), vault: z.string().min(1), secret: z.string().min(1)}).describe('The password is this Key Vault secret'),
        z.strictObject({type: z.literal('param'), name: z.string().regex(/^[A-Z0-9_]+$/, 'expected an upper-case name such as PG_PASSWORD')}).describe('The password is the environment variable OPSBOOK_PARAM_<name>'),
      ])
      .default({type: 'entra'}),
    freshness: z
      .string()
      .min(1)
      .optional()
      .describe('SQL returning one timestamp: the newest data, e.g. "select max(created_at) from orders where created_at <= $1" ($1, optional, is the restore point)'),
    tables: z
      .array(
        z.strictObject({
          name: identifier,
          timestampColumn: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/).optional().describe('Count only rows up to the restore point, so source and copy compare'),
          checksum: z.boolean().default(false).describe('Also compare an md5 of the rows (reads the whole table)'),
        }),
      )
      .default([])
      .describe('Tables whose row counts (and checksums) are compared between the source and the copy'),
    canary: z
      .boolean()
      .default(false)
      .describe('Write heartbeat rows into the schema opsbook_canary of the source before restoring (DROP SCHEMA opsbook_canary CASCADE removes it)'),
    port: z.number().int().min(1).max(65535).default(5432),
    timeout: isoDuration.default('PT30S').describe('How long one probe may take (connecting included)'),
  })
  .superRefine((probes, ctx) => {
    if (!probes.freshness && !probes.canary)
      ctx.addIssue({code: 'custom', path: ['freshness'], message: 'set a freshness query or canary: true, else nothing measures the RPO'})
  })
  .describe('Data probes: how opsbook reads the newest data of the server and of restored copies')
export type PostgresDataProbes = z.infer<typeof postgresDataProbesSchema>

export const postgresComponentSchema = z.strictObject({
  type: z.literal('postgres'),
  ...componentBase,
  version: z.string().default('16').describe('PostgreSQL major version'),
  sku: z.string().default('Standard_D2ds_v5'),
  backupRetentionDays: z.number().int().min(7).max(35).default(7).describe('Backup retention the server must keep'),
  geoRedundantBackup: z.boolean().default(false).describe('Whether geo-redundant backup is expected'),
  highAvailability: z.enum(['Disabled', 'SameZone', 'ZoneRedundant']).default('Disabled'),
  replicas: z
    .array(z.strictObject({name: z.string(), region: z.string().optional(), resourceGroup: z.string().optional()}))
    .default([])
    .describe('Read replicas (possibly in the paired region)'),
  connection: z
    .strictObject({
      host: z.string().optional(),
      database: z.string().default('postgres'),
      user: z.string(),
      passwordEnv: z.string().optional().describe('Name of an environment variable that holds the password (never the password)'),
    })
    .optional()
    .describe('Data-plane connection for verification queries'),
  network: z
    .strictObject({
      // Public access vs private access (VNet integration) is fixed when the server is created:
      // https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking
      access: z.enum(['public', 'private']).default('public').describe('public: firewall rules and/or private endpoints; private: VNet-injected (delegated subnet)'),
      publicNetworkAccess: z.enum(['Enabled', 'Disabled']).optional(),
      delegatedSubnet: z.string().optional().describe('private access: resource id of the delegated subnet'),
      privateDnsZone: z.string().optional().describe('private access: the private DNS zone, e.g. orders.private.postgres.database.azure.com'),
      privateEndpoints: z.array(z.string()).default([]).describe('Private endpoint names'),
      firewallRules: z
        .array(z.strictObject({name: z.string(), startIp: z.string(), endIp: z.string()}))
        .default([])
        .describe('public access: allowed IP ranges'),
    })
    .superRefine((n, ctx) => {
      if (n.access === 'private' && !n.delegatedSubnet)
        ctx.addIssue({code: 'custom', path: ['delegatedSubnet'], message: 'private access (VNet integration) needs delegatedSubnet: the subnet\'s resource id'})
      if (n.access === 'private' && n.firewallRules.length > 0)
        ctx.addIssue({code: 'custom', path: ['firewallRules'], message: 'firewall rules apply to public access only; a VNet-injected server has none'})
    })
    .optional()
    .describe('Network settings the server is expected to have'),
  dataProbes: postgresDataProbesSchema.optional(),
})

/** Where RDB snapshots of a Redis component (classic or Managed Redis) go, and how often they are taken. */
export const redisSnapshotsSchema = z
    .strictObject({
      storageAccount: z.string().describe('Storage account that holds RDB snapshots'),
      container: z.string().default('redis-snapshots'),
      frequency: isoDuration.default('PT1H').describe('How often an RDB snapshot is taken'),
      resourceGroup: z.string().optional(),
    })
    .optional()

/** Data probes of a Redis component (classic or Managed Redis). */
export const redisProbeSchema = z
    .strictObject({
      canary: z
        .strictObject({
          key: z.string().min(1).default('opsbook:canary').describe('String key holding the time of the newest write (ISO-8601, epoch seconds/ms, or JSON with an `at` field)'),
          write: z
            .boolean()
            .default(false)
            .describe('opsbook sets the key to the current time before each of its exports (needs data-plane access); otherwise your application or a scheduled job keeps it current'),
        })
        .optional()
        .describe('Opt-in canary: RPO is read from this key inside the RDB snapshot (its data age), not from blob metadata'),
      keyCount: z
        .strictObject({
          tolerance: z.number().min(0).max(1).default(0.1).describe('Largest relative difference allowed between the key counts compared'),
        })
        .optional()
        .describe('Compare key counts: the restored snapshot against a fresh export (drill) or the restored cache (redis-restore)'),
      auth: z
        .enum(['entra', 'accessKey'])
        .default('entra')
        .describe('Data-plane sign-in: entra = a Microsoft Entra token from DefaultAzureCredential (scope https://redis.azure.com/.default, user = the principal\'s object id); accessKey = the key in OPSBOOK_PARAM_<accessKeyParam> or the Key Vault secret accessKeySecret'),
      accessKeyParam: z
        .string()
        .regex(/^[A-Za-z0-9_]+$/, 'expected the name of a parameter: letters, digits and _')
        .optional()
        .describe('With auth: accessKey, the parameter holding the access key: environment variable OPSBOOK_PARAM_<name> (never the key itself)'),
      accessKeySecret: z
        .strictObject({vault: z.string().min(1).describe('Key Vault name or URL'), secret: z.string().min(1).describe('Secret holding the access key')})
        .optional()
        .describe('With auth: accessKey, the Key Vault secret holding the access key (read from the vault\'s data plane when a probe connects; needs the Key Vault Secrets User role)'),
    })
    .superRefine((p, ctx) => {
      if (p.auth === 'accessKey' && !p.accessKeyParam && !p.accessKeySecret)
        ctx.addIssue({
          code: 'custom',
          path: ['accessKeyParam'],
          message: 'auth: accessKey needs accessKeyParam (an OPSBOOK_PARAM_<name> variable holding the key) or accessKeySecret ({vault, secret}: a Key Vault secret holding it)',
        })
      if (p.accessKeyParam && p.accessKeySecret) ctx.addIssue({code: 'custom', path: ['accessKeySecret'], message: 'give accessKeyParam or accessKeySecret, not both'})
    })
    .optional()
    .describe('Data probes read from the RDB snapshot and, when opsbook connects (TLS, certificate verified), from the cache itself')

export const redisComponentSchema = z.strictObject({
  type: z.literal('redis'),
  ...componentBase,
  sku: z.enum(['Basic', 'Standard', 'Premium']).default('Premium'),
  capacity: z.number().int().min(0).max(6).default(1),
  snapshots: redisSnapshotsSchema,
  probe: redisProbeSchema,
  persistence: z
    .strictObject({
      // Premium caches persist as RDB snapshots (every 15, 30, 60, 360, 720 or 1440 minutes) or as an append-only file:
      // https://learn.microsoft.com/azure/azure-cache-for-redis/cache-how-to-premium-persistence
      // (RedisCommonConfiguration.rdbBackupFrequency: "Valid values: (15, 30, 60, 360, 720, 1440)").
      mode: z.enum(['rdb', 'aof', 'none']).describe('rdb: periodic snapshots; aof: every write logged (about once a second); none'),
      frequency: isoDuration.optional().describe('rdb: how often a snapshot is written: PT15M, PT30M, PT1H, PT6H, PT12H or PT24H'),
      storageAccount: z.string().optional().describe('Storage account the persistence files go to'),
    })
    .superRefine((p, ctx) => {
      const minutes = p.frequency ? Math.round(parseDurationMinutes(p.frequency)) : undefined
      if (p.mode === 'rdb' && minutes !== undefined && ![15, 30, 60, 360, 720, 1440].includes(minutes))
        ctx.addIssue({code: 'custom', path: ['frequency'], message: 'Azure takes RDB snapshots every PT15M, PT30M, PT1H, PT6H, PT12H or PT24H'})
      if (p.mode !== 'rdb' && p.frequency)
        ctx.addIssue({code: 'custom', path: ['frequency'], message: `frequency applies to rdb persistence only (${p.mode === 'aof' ? 'AOF writes about once a second' : 'persistence is off'})`})
    })
    .optional()
    .describe('Data persistence (Premium): RDB snapshots or AOF'),
})

/**
 * Azure Managed Redis (`Microsoft.Cache/redisEnterprise`): a cluster holding one database (named `default`), exported to
 * and imported from Blob Storage as RDB files like a classic cache. SKUs are `<tier>_<size>`: Balanced_B*,
 * MemoryOptimized_M*, ComputeOptimized_X*, FlashOptimized_A* (https://learn.microsoft.com/azure/redis/overview), and the
 * retiring Enterprise_E* / EnterpriseFlash_F*.
 */
export const managedRedisComponentSchema = z
  .strictObject({
    type: z.literal('managedredis'),
    ...componentBase,
    sku: z
      .string()
      .regex(
        /^(Balanced_B\d+|MemoryOptimized_M\d+|ComputeOptimized_X\d+|FlashOptimized_A\d+|Enterprise_E\d+|EnterpriseFlash_F\d+)$/,
        'expected a Managed Redis SKU such as Balanced_B5, MemoryOptimized_M10, ComputeOptimized_X5 or FlashOptimized_A250',
      )
      .default('Balanced_B1'),
    database: z.string().min(1).default('default').describe('The database of the cluster (Azure Managed Redis has one, named default)'),
    highAvailability: z.boolean().default(true).describe('Replicated across two nodes (Azure\'s default; off only for dev/test)'),
    snapshots: redisSnapshotsSchema,
    probe: redisProbeSchema,
    persistence: z
      .strictObject({
        // At most one of AOF and RDB; RDB every 1h, 6h or 12h; AOF every second (`always` is deprecated):
        // https://learn.microsoft.com/azure/redis/how-to-persistence and the spec's Persistence definition
        // (redisenterprise.json 2022-01-01: aofFrequency 1s|always, rdbFrequency 1h|6h|12h).
        mode: z.enum(['rdb', 'aof', 'none']).describe('rdb: periodic snapshots to a managed disk; aof: every write logged (once a second); none'),
        frequency: isoDuration.optional().describe('rdb: PT1H, PT6H or PT12H; aof: PT1S'),
      })
      .superRefine((p, ctx) => {
        const minutes = p.frequency ? parseDurationMinutes(p.frequency) : undefined
        if (p.mode === 'rdb' && minutes !== undefined && ![60, 360, 720].includes(Math.round(minutes)))
          ctx.addIssue({code: 'custom', path: ['frequency'], message: 'Azure Managed Redis writes RDB snapshots every PT1H, PT6H or PT12H'})
        if (p.mode === 'aof' && minutes !== undefined && Math.abs(minutes * 60 - 1) > 1e-9)
          ctx.addIssue({code: 'custom', path: ['frequency'], message: 'Azure Managed Redis writes AOF every second: frequency PT1S (or leave it out)'})
        if (p.mode === 'none' && p.frequency) ctx.addIssue({code: 'custom', path: ['frequency'], message: 'frequency applies to rdb or aof persistence only'})
      })
      .optional()
      .describe('Data persistence of the database: RDB snapshots or AOF (both are for node failures, not backups: export is)'),
    geoReplication: z
      .strictObject({
        group: z.string().min(1).describe('Active geo-replication group nickname'),
        linkedDatabases: z
          .array(z.strictObject({cluster: z.string().min(1), resourceGroup: z.string().optional(), region: z.string().optional()}))
          .default([])
          .describe('The other clusters whose databases are in the group'),
      })
      .optional()
      .describe('Active geo-replication: the group this database belongs to'),
  })
  .superRefine((amr, ctx) => {
    // Flash Optimized has no active geo-replication: https://learn.microsoft.com/azure/redis/best-practices-flash-optimized
    // ("Feature support": active geo-replication No).
    if (amr.geoReplication && /^(FlashOptimized|EnterpriseFlash)_/.test(amr.sku))
      ctx.addIssue({code: 'custom', path: ['geoReplication'], message: `${amr.sku}: the Flash Optimized tier has no active geo-replication`})
  })
export type ManagedRedisComponent = z.infer<typeof managedRedisComponentSchema>

export const webappComponentSchema = z.strictObject({
  type: z.literal('webapp'),
  ...componentBase,
  slots: z.array(z.string()).default(['staging']).describe('Deployment slots besides production'),
  planSku: z.string().optional().describe('SKU of the App Service plan (e.g. S1, P1v3): decides how many slots it can have; the emulator serves P1v3 when unset'),
  healthPath: z.string().startsWith('/').default('/health'),
  rollbackWindow: isoDuration.optional().describe('How long after a swap an automatic swap-back may happen (default: the environment\'s)'),
  gates: z
    .strictObject({
      maxHttp5xxRate: z.number().min(0).max(1).default(0.02).describe('Largest share of 5xx responses allowed after a swap'),
      maxP95ResponseMs: z.number().positive().default(1500),
    })
    .optional(),
  insights: z.string().optional().describe('Application Insights / Log Analytics workspace id for logs queries'),
  plan: z
    .strictObject({
      name: z.string().optional().describe('App Service plan name'),
      // Deployment slots need Standard or higher; zone redundancy needs Premium v2/v3 (or Isolated v2) and at least
      // 2 instances: https://learn.microsoft.com/azure/app-service/deploy-staging-slots,
      // https://learn.microsoft.com/azure/reliability/reliability-app-service
      sku: z.string().regex(/^(F1|D1|B[1-3]|S[1-3]|P[0-5]v[2-4]|P[0-5]mv[34]|I[1-6]v2|I[1-6]mv2|Y1|EP[1-3]|WS[1-3])$/, 'expected an App Service plan SKU such as B1, S1, P1v3 or I1v2'),
      instances: z.number().int().min(1).max(100).default(1),
      zoneRedundant: z.boolean().default(false),
    })
    .superRefine((plan, ctx) => {
      if (plan.zoneRedundant && !/^(P\d+m?v[234]|I\d+m?v2)$/.test(plan.sku))
        ctx.addIssue({code: 'custom', path: ['zoneRedundant'], message: `zone redundancy needs a Premium v2/v3/v4 or Isolated v2 plan, not ${plan.sku}`})
      if (plan.zoneRedundant && plan.instances < 2)
        ctx.addIssue({code: 'custom', path: ['instances'], message: 'a zone-redundant plan runs at least 2 instances'})
    })
    .optional()
    .describe('The App Service plan the app runs on'),
}).superRefine((app, ctx) => {
  // Deployment slots need Standard or higher: https://learn.microsoft.com/azure/app-service/deploy-staging-slots
  if (app.plan && /^(F1|D1|B[1-3])$/.test(app.plan.sku) && app.slots.length > 0)
    ctx.addIssue({code: 'custom', path: ['slots'], message: `a ${app.plan.sku} plan has no deployment slots: set slots: [] (dr-drill then reports the app as not drillable)`})
})

export const storageComponentSchema = z.strictObject({
  type: z.literal('storage'),
  ...componentBase,
})

export const keyvaultComponentSchema = z.strictObject({
  type: z.literal('keyvault'),
  ...componentBase,
})

/**
 * How opsbook reads the newest data of an Azure SQL database and of a restored copy (sql-pitr, drills): the `mssql`
 * driver (tedious) with a Microsoft Entra access token (DefaultAzureCredential, scope
 * https://database.windows.net/.default — https://learn.microsoft.com/azure/azure-sql/database/authentication-aad-overview).
 * No password is ever written here. Against the emulator the newest row is modelled (docs/data-probes.md).
 */
export const sqlDataProbesSchema = z
  .strictObject({
    freshness: z
      .string()
      .min(1)
      .describe('T-SQL returning one timestamp: the newest data, e.g. "select max(created_at) from dbo.orders"'),
    timeout: isoDuration.default('PT30S').describe('How long one probe may take (connecting included)'),
  })
  .describe('Data probes: how opsbook reads the newest row of the database and of restored copies (Entra token auth)')
export type SqlDataProbes = z.infer<typeof sqlDataProbesSchema>

// Azure SQL Database: point-in-time restore retention is 1–35 days (Basic: up to 7), default 7:
// https://learn.microsoft.com/azure/azure-sql/database/automated-backups-overview#backup-retention
// Backup storage redundancy Local / Zone / Geo / GeoZone (requestedBackupStorageRedundancy, Databases.json):
// https://learn.microsoft.com/azure/azure-sql/database/automated-backups-overview#backup-storage-redundancy
export const sqlDatabaseComponentSchema = z.strictObject({
  type: z.literal('sqldb'),
  ...componentBase,
  server: z.string().describe('The logical SQL server the database lives on'),
  sku: z.string().optional().describe('e.g. GP_Gen5_2, BC_Gen5_4, S3, HS_Gen5_2'),
  zoneRedundant: z.boolean().default(false),
  failoverGroup: z.string().optional().describe('Auto-failover group the database belongs to (on `server`; its partner is the first geoReplicas server)'),
  geoReplicas: z.array(z.strictObject({server: z.string(), region: z.string()})).default([]),
  backupRetentionDays: z.number().int().min(1).max(35).default(7).describe('Point-in-time restore retention (days) the database must keep'),
  backupRedundancy: z.enum(['Local', 'Zone', 'Geo', 'GeoZone']).default('Geo').describe('Backup storage redundancy expected (Geo or GeoZone for a cross-region objective)'),
  dataProbes: sqlDataProbesSchema.optional(),
}).superRefine((db, ctx) => {
  if (db.sku && /^Basic$/i.test(db.sku) && db.backupRetentionDays > 7)
    ctx.addIssue({code: 'custom', path: ['backupRetentionDays'], message: 'a Basic database keeps point-in-time backups for at most 7 days'})
})
export type SqlDatabaseComponent = z.infer<typeof sqlDatabaseComponentSchema>

/**
 * How opsbook reads the data of a Cosmos DB (NoSQL) account and of a restored copy: the container whose newest `_ts`
 * (the system property every item carries: its last write, epoch seconds) is the data's freshness.
 * https://learn.microsoft.com/azure/cosmos-db/resource-model#properties-of-an-item
 */
export const cosmosDataProbesSchema = z
  .strictObject({
    database: z.string().min(1).describe('SQL (NoSQL API) database holding the probed container'),
    container: z.string().min(1).describe('Container whose newest item `_ts` is the freshness of the data'),
  })
  .describe('Data probes: the container whose newest `_ts` says how fresh the account (and a restored copy) is')
export type CosmosDataProbes = z.infer<typeof cosmosDataProbesSchema>

// Azure Cosmos DB: point-in-time restore into a new account needs the continuous backup mode (7 or 30 days);
// periodic-mode accounts are restored only by a support request, so opsbook cannot restore them:
// https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction and
// https://learn.microsoft.com/azure/cosmos-db/periodic-backup-restore-introduction#request-data-restore-from-a-backup
export const cosmosDbComponentSchema = z.strictObject({
  type: z.literal('cosmosdb'),
  ...componentBase,
  api: z.enum(['nosql', 'mongodb', 'cassandra', 'gremlin', 'table', 'postgresql']).default('nosql'),
  consistency: z.enum(['Strong', 'BoundedStaleness', 'Session', 'ConsistentPrefix', 'Eventual']).default('Session'),
  regions: z.array(z.string()).default([]).describe('Read/write regions, the first is the write region'),
  multiRegionWrites: z.boolean().default(false),
  backup: z
    .enum(['periodic', 'continuous7days', 'continuous30days'])
    .default('periodic')
    .describe('Backup mode: continuous (point-in-time restore by opsbook) or periodic (restored only by Azure support)'),
  backupRedundancy: z.enum(['Local', 'Zone', 'Geo']).optional().describe('Periodic mode: backup storage redundancy expected'),
  databases: z
    .array(z.strictObject({name: z.string().min(1), containers: z.array(z.string().min(1)).default([])}))
    .default([])
    .describe('SQL (NoSQL API) databases and their containers'),
  dataProbes: cosmosDataProbesSchema.optional(),
}).superRefine((account, ctx) => {
  // Continuous backup is available for the NoSQL, MongoDB, Gremlin and Table APIs, not Cassandra or PostgreSQL:
  // https://learn.microsoft.com/azure/cosmos-db/continuous-backup-restore-introduction#current-limitations
  if (account.backup !== 'periodic' && ['cassandra', 'postgresql'].includes(account.api))
    ctx.addIssue({code: 'custom', path: ['backup'], message: `continuous backup is not available for the ${account.api} API: use periodic`})
  if (account.backupRedundancy && account.backup !== 'periodic')
    ctx.addIssue({code: 'custom', path: ['backupRedundancy'], message: 'backupRedundancy applies to the periodic backup mode only'})
  if (account.dataProbes) {
    const db = account.databases.find((d) => d.name === account.dataProbes!.database)
    if (account.databases.length > 0 && !db)
      ctx.addIssue({code: 'custom', path: ['dataProbes', 'database'], message: `expected one of the account's databases: ${account.databases.map((d) => d.name).join(', ')}`})
    else if (db && db.containers.length > 0 && !db.containers.includes(account.dataProbes.container))
      ctx.addIssue({code: 'custom', path: ['dataProbes', 'container'], message: `expected one of ${db.name}'s containers: ${db.containers.join(', ')}`})
  }
})
export type CosmosDbComponent = z.infer<typeof cosmosDbComponentSchema>

// Kinds real platforms have that opsbook describes (inventory, objectives, windows) but cannot act on yet:
// no runbook restores them, no check reads them, the emulator does not serve them. `DESCRIBED_ONLY` below names them.

/** Azure Service Bus namespace: its queues and topics (with subscriptions), whose dead-letter queues servicebus-dlq reports. */
export const serviceBusComponentSchema = z.strictObject({
  type: z.literal('servicebus'),
  ...componentBase,
  sku: z.enum(['Basic', 'Standard', 'Premium']).default('Standard'),
  geoDrAlias: z.string().optional().describe('Geo-disaster recovery alias (Premium)'),
  queues: z.array(z.string()).default([]),
  topics: z
    .array(z.union([z.string(), z.strictObject({name: z.string().min(1), subscriptions: z.array(z.string().min(1)).default([])})]))
    .default([])
    .describe('Topics, by name or as {name, subscriptions: [...]}'),
  deadLetter: z
    .strictObject({
      maxMessages: z.number().int().min(0).default(0).describe('Dead-lettered messages tolerated per entity before the report flags it'),
      maxAge: isoDuration.optional().describe('Oldest dead-lettered message tolerated (needs the data plane: peek)'),
    })
    .optional()
    .describe('What servicebus-dlq flags'),
}).superRefine((sb, ctx) => {
  // Basic tier has queues only: https://learn.microsoft.com/azure/service-bus-messaging/service-bus-premium-messaging
  if (sb.sku === 'Basic' && sb.topics.length > 0)
    ctx.addIssue({code: 'custom', path: ['topics'], message: 'the Basic tier has no topics: use Standard or Premium'})
  if (sb.geoDrAlias && sb.sku !== 'Premium')
    ctx.addIssue({code: 'custom', path: ['geoDrAlias'], message: 'geo-disaster recovery needs the Premium tier'})
})
export type ServiceBusComponent = z.infer<typeof serviceBusComponentSchema>

export const containerAppComponentSchema = z.strictObject({
  type: z.literal('containerapp'),
  ...componentBase,
  managedEnvironment: z.string().optional().describe('Container Apps environment'),
  minReplicas: z.number().int().min(0).optional(),
  maxReplicas: z.number().int().min(1).optional(),
  healthPath: z.string().startsWith('/').optional(),
})

export const functionAppComponentSchema = z.strictObject({
  type: z.literal('functionapp'),
  ...componentBase,
  hosting: z.enum(['consumption', 'flex-consumption', 'premium', 'dedicated']).default('consumption'),
  slots: z.array(z.string()).default([]),
  healthPath: z.string().startsWith('/').optional(),
})

// Traffic Manager: priority 1–1000 (lower first), endpoint status Enabled/Disabled, monitor protocol HTTP/HTTPS/TCP,
// probe interval 30 or 10 s, timeout 5–10 s (≤ interval), tolerated failures 0–9 — Microsoft.Network/trafficmanagerprofiles
// 2022-04-01 (trafficmanager.json) and https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring
const trafficManagerEndpointSchema = z
  .strictObject({
    name: z.string().min(1),
    webapp: z.string().optional().describe('Catalog key of the webapp component this endpoint routes to (an azureEndpoints endpoint)'),
    target: z.string().optional().describe('FQDN of an external endpoint (externalEndpoints), e.g. app-neu.azurewebsites.net'),
    region: z.string().optional().describe('Azure region the endpoint serves from; defaults to its webapp\'s region, else the environment\'s'),
    priority: z.number().int().min(1).max(1000).optional().describe('Priority routing: lower answers first'),
    weight: z.number().int().min(1).max(1000).optional(),
    enabled: z.boolean().default(true).describe('endpointStatus Enabled (true) or Disabled'),
  })
  .superRefine((e, ctx) => {
    if (!e.webapp === !e.target) ctx.addIssue({code: 'custom', path: ['webapp'], message: 'an endpoint needs exactly one of webapp (a catalog key) or target (an external FQDN)'})
  })

export const trafficManagerComponentSchema = z
  .strictObject({
    type: z.literal('trafficmanager'),
    ...componentBase,
    routingMethod: z.enum(['Priority', 'Weighted', 'Performance', 'Geographic', 'MultiValue', 'Subnet']).default('Priority'),
    dnsTtl: z.number().int().min(0).max(2_147_483_647).default(60).describe('DNS TTL (seconds) resolvers cache the answer for: a floor on failover time'),
    monitor: z
      .strictObject({
        protocol: z.enum(['HTTP', 'HTTPS', 'TCP']).default('HTTPS'),
        port: z.number().int().min(1).max(65535).default(443),
        path: z.string().startsWith('/').default('/'),
        intervalInSeconds: z.union([z.literal(10), z.literal(30)]).default(30),
        timeoutInSeconds: z.number().int().min(5).max(10).default(10),
        toleratedNumberOfFailures: z.number().int().min(0).max(9).default(3),
      })
      .optional()
      .describe('Endpoint monitoring expected (the check compares it with Azure)'),
    endpoints: z.array(trafficManagerEndpointSchema).default([]),
  })
  .superRefine((tm, ctx) => {
    if (tm.monitor && tm.monitor.intervalInSeconds === 10 && tm.monitor.timeoutInSeconds > 9)
      ctx.addIssue({code: 'custom', path: ['monitor', 'timeoutInSeconds'], message: 'with a 10 s probing interval the timeout must be 5–9 s'})
    const seen = new Set<string>()
    tm.endpoints.forEach((e, i) => {
      if (seen.has(e.name.toLowerCase())) ctx.addIssue({code: 'custom', path: ['endpoints', i, 'name'], message: `endpoint ${e.name} is listed twice`})
      seen.add(e.name.toLowerCase())
      if (tm.routingMethod === 'Priority' && e.priority === undefined)
        ctx.addIssue({code: 'custom', path: ['endpoints', i, 'priority'], message: 'Priority routing needs a priority (1–1000) on every endpoint'})
    })
  })
export type TrafficManagerComponent = z.infer<typeof trafficManagerComponentSchema>

// Front Door Standard/Premium (Microsoft.Cdn/profiles, 2024-02-01 afdx.json): origin priority 1–5 and weight 1–1000,
// enabledState Enabled/Disabled; health probes on the origin group:
// https://learn.microsoft.com/azure/frontdoor/routing-methods and https://learn.microsoft.com/azure/frontdoor/health-probes
const frontDoorOriginSchema = z
  .strictObject({
    name: z.string().min(1),
    webapp: z.string().optional().describe('Catalog key of the webapp component this origin is'),
    host: z.string().optional().describe('Origin host name of a non-catalog origin, e.g. app-neu.azurewebsites.net'),
    region: z.string().optional().describe('Azure region of the origin; defaults to its webapp\'s region, else the environment\'s'),
    priority: z.number().int().min(1).max(5).default(1),
    weight: z.number().int().min(1).max(1000).default(1000),
    enabled: z.boolean().default(true).describe('enabledState Enabled (true) or Disabled'),
  })
  .superRefine((o, ctx) => {
    if (!o.webapp === !o.host) ctx.addIssue({code: 'custom', path: ['webapp'], message: 'an origin needs exactly one of webapp (a catalog key) or host (a host name)'})
  })

export const frontDoorComponentSchema = z.strictObject({
  type: z.literal('frontdoor'),
  ...componentBase,
  sku: z.enum(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor']).default('Standard_AzureFrontDoor'),
  endpoint: z.string().optional().describe('The AFD endpoint (afdEndpoints) name; defaults to the profile name'),
  originGroups: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        healthProbe: z
          .strictObject({path: z.string().startsWith('/').default('/'), protocol: z.enum(['Http', 'Https']).default('Https'), intervalInSeconds: z.number().int().min(1).max(255).default(100)})
          .optional()
          .describe('Health probe settings; none means every origin counts as healthy'),
        origins: z.array(frontDoorOriginSchema).min(1),
      }),
    )
    .default([]),
  origins: z
    .array(z.strictObject({name: z.string(), host: z.string(), priority: z.number().int().min(1).max(5).optional(), weight: z.number().int().min(1).max(1000).optional()}))
    .default([])
    .describe('Shorthand for one origin group named "default" of host origins (older catalogs)'),
  waf: z.string().optional().describe('WAF policy (Microsoft.Network/frontdoorWebApplicationFirewallPolicies) name attached through a security policy'),
})
export type FrontDoorComponent = z.infer<typeof frontDoorComponentSchema>

/** The origin groups of a Front Door component (the `origins` shorthand as a group named "default"). */
export function frontDoorOriginGroups(fd: FrontDoorComponent): FrontDoorComponent['originGroups'] {
  if (fd.originGroups.length > 0 || fd.origins.length === 0) return fd.originGroups
  return [{name: 'default', origins: fd.origins.map((o) => ({name: o.name, host: o.host, priority: o.priority ?? 1, weight: o.weight ?? 1000, enabled: true}))}]
}

export const appInsightsComponentSchema = z.strictObject({
  type: z.literal('appinsights'),
  ...componentBase,
  workspace: z.string().optional().describe('Log Analytics workspace (resource id or name) it sends to'),
})

export const staticWebAppComponentSchema = z.strictObject({
  type: z.literal('staticwebapp'),
  ...componentBase,
  sku: z.enum(['Free', 'Standard']).default('Standard'),
})

export const apiManagementComponentSchema = z.strictObject({
  type: z.literal('apim'),
  ...componentBase,
  sku: z.enum(['Consumption', 'Developer', 'Basic', 'Standard', 'Premium', 'BasicV2', 'StandardV2', 'PremiumV2']).default('Developer'),
  capacity: z.number().int().min(0).max(31).default(1),
  additionalRegions: z.array(z.string()).default([]).describe('Premium: extra gateway regions'),
})

export const componentSchema = z.discriminatedUnion('type', [
  postgresComponentSchema,
  redisComponentSchema,
  managedRedisComponentSchema,
  webappComponentSchema,
  storageComponentSchema,
  keyvaultComponentSchema,
  sqlDatabaseComponentSchema,
  cosmosDbComponentSchema,
  serviceBusComponentSchema,
  containerAppComponentSchema,
  functionAppComponentSchema,
  trafficManagerComponentSchema,
  frontDoorComponentSchema,
  appInsightsComponentSchema,
  staticWebAppComponentSchema,
  apiManagementComponentSchema,
])

/** Component kinds opsbook acts on (runbooks, checks, emulator). */
export const ACTIONABLE_KINDS = ['postgres', 'redis', 'managedredis', 'webapp', 'storage', 'keyvault', 'sqldb', 'cosmosdb', 'servicebus', 'trafficmanager', 'frontdoor'] as const
/** Kinds the catalog describes but no command acts on yet, with the name users know them by. */
export const DESCRIBED_ONLY: Record<Exclude<z.infer<typeof componentSchema>['type'], (typeof ACTIONABLE_KINDS)[number]>, string> = {
  containerapp: 'Azure Container Apps',
  functionapp: 'Azure Functions',
  appinsights: 'Application Insights',
  staticwebapp: 'Azure Static Web Apps',
  apim: 'Azure API Management',
}

/** Whether opsbook can act on a component of this kind yet. */
export function isActionable(type: string): type is (typeof ACTIONABLE_KINDS)[number] {
  return (ACTIONABLE_KINDS as readonly string[]).includes(type)
}

/** The windows a component names (`window` and `windows`, in that order, without repeats). */
export function componentWindowNames(component: {window?: string; windows?: string[]}): string[] {
  return [...new Set([...(component.window ? [component.window] : []), ...(component.windows ?? [])])]
}
export type Component = z.infer<typeof componentSchema>
export type ComponentType = Component['type']
export type PostgresComponent = z.infer<typeof postgresComponentSchema>
export type RedisComponent = z.infer<typeof redisComponentSchema>
export type WebappComponent = z.infer<typeof webappComponentSchema>

export const waiverSchema = z.strictObject({
  check: z.string().describe('Check id, e.g. redis.net.public_disabled'),
  resource: z.string().optional().describe('Component key or resource name; all resources when omitted'),
  reason: z.string().min(1),
  owner: z.string().min(1),
  expires: isoDateTime,
})
export type Waiver = z.infer<typeof waiverSchema>

export const notificationSchema = z
  .strictObject({
    kind: z.enum(['teams', 'slack', 'webhook']).describe('teams: an Adaptive Card (Teams Workflows webhook); slack: Block Kit (incoming webhook); webhook: plain JSON'),
    url: z
      .union([
        z.strictObject({env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as OPSBOOK_TEAMS_WEBHOOK')}).describe('The URL is in this environment variable'),
        z
          .strictObject({type: z.literal('keyVaultSecret'), vault: z.string().min(1).describe('Key Vault name or URL'), secret: z.string().min(1).describe('Secret holding the URL')})
          .describe('The URL is this Key Vault secret (read at run time; needs the Key Vault Secrets User role)'),
        z
          .strictObject({type: z.literal('param'), name: z.string().regex(/^[A-Z0-9_]+$/, 'expected an upper-case name such as TEAMS_WEBHOOK')})
          .describe('The URL is the environment variable OPSBOOK_PARAM_<name>'),
      ])
      .describe('Where the webhook URL is — a secret by reference, never the URL: it carries its own secret. Resolved at run time and redacted everywhere; one that cannot be resolved is a journaled warning, the run goes on'),
    on: z
      .array(z.enum(['start', 'approval', 'success', 'failure', 'left-behind']))
      .min(1)
      .default(['approval', 'failure', 'left-behind'])
      .describe('Which moments of a run to send'),
  })
  .describe('A chat or webhook notification target')
export type NotificationSpec = z.infer<typeof notificationSchema>

export const environmentSchema = z.strictObject({
  cloud: z.enum(['azure', 'emulator']).describe('azure: real Azure through DefaultAzureCredential; emulator: the embedded local emulator'),
  azureCloud: z.enum(['AzurePublicCloud', 'AzureChinaCloud', 'AzureUSGovernment']).default('AzurePublicCloud'),
  subscription: z.string().regex(/^[0-9a-fA-F-]{36}$/, 'expected a subscription id (GUID)'),
  tenant: z.string().optional(),
  region: z.string().default('eastus'),
  pairedRegion: z.string().optional().describe('Region used for geo restore and DR replicas'),
  production: z.boolean().default(false).describe('Production: confirmations typed by name, windows and freezes enforced'),
  resourceGroups: z.array(z.string()).min(1),
  scope: z
    .strictObject({
      managementGroups: z.array(z.string().regex(/^[A-Za-z0-9._()-]{1,90}$/, 'expected a management group id')).default([]),
      subscriptions: z.array(z.string().regex(/^[0-9a-fA-F-]{36}$/, 'expected a subscription id (GUID)')).default([]),
    })
    .optional()
    .describe('Fleet scope of `opsbook check`: every checked resource in these management groups and subscriptions (all resource groups), read through Resource Graph; `check --scope` overrides it'),
  evidence: z
    .strictObject({
      storageAccount: z.string(),
      container: z.string().default('opsbook-evidence'),
      resourceGroup: z.string().optional(),
    })
    .optional()
    .describe('Where run journals and summaries are uploaded'),
  freezes: z
    .array(z.strictObject({from: isoDateTime, until: isoDateTime, reason: z.string()}))
    .default([])
    .describe('Change freezes: disruptive runbooks refuse to start inside one'),
  windows: z.record(z.string(), maintenanceWindowSchema).default({}).describe('Named maintenance windows'),
  rollbackWindow: isoDuration.default('PT30M').describe('Default automatic swap-back window after a slot swap'),
  requiredTags: z.array(z.string()).default([]).describe('Tags every resource must carry'),
  waivers: z.array(waiverSchema).default([]).describe('Security check waivers'),
  notifications: z.array(notificationSchema).default([]).describe('Chat and webhook notifications of runs (a failed delivery is journaled, never fails the run)'),
  components: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'component keys are lower-case letters, digits and dashes'), componentSchema),
  emulator: z
    .strictObject({
      lroSeconds: z.number().min(0).optional().describe('How long long-running operations stay in progress (default 3)'),
      geoBackupLag: isoDuration
        .optional()
        .describe('How far geo-redundant PostgreSQL backups trail the primary (default PT5M). Azure promises under an hour; a short lag lets a drill on a freshly started emulator find rows in its geo-restored copy'),
      faults: z.string().optional().describe('Faults to inject: JSON or k=v pairs, e.g. "latency=50,throttle=20/5,fail=postgres.create:InternalServerError:boom"'),
    })
    .optional()
    .describe('Options for the embedded emulator (cloud: emulator only)'),
})
export type Environment = z.infer<typeof environmentSchema>

export const catalogSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1).describe('Catalog format version'),
  runbooksDir: z.string().optional().describe('Folder (relative to this file) with your own runbooks'),
  environments: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'environment names are lower-case letters, digits and dashes'), environmentSchema),
})
export type Catalog = z.infer<typeof catalogSchema>
