/**
 * The catalog (`runbooks.yaml`): environments, their components, recovery objectives, maintenance windows,
 * change freezes, evidence sinks and policies. One zod schema is the source of truth; `schema/catalog.schema.json`
 * is generated from it for editors.
 */
import {z} from 'zod'
import {isDuration} from '../support/duration.js'

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

export const maintenanceWindowSchema = z
  .strictObject({
    recurrence: z.enum(['weekly', 'biweekly', 'monthly']).describe('How often the window opens'),
    day: weekday.describe('Day of the week the window starts on'),
    start: hhmm,
    end: hhmm.describe('Local end time; earlier than start means the window crosses midnight'),
    timeZone: timeZone.default('UTC'),
    anchor: isoDateTime.optional().describe('biweekly: a date inside a week in which the window opens'),
    week: z
      .union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal('last')])
      .optional()
      .describe('monthly: which occurrence of `day` in the month (1-4 or last)'),
    description: z.string().optional(),
  })
  .superRefine((w, ctx) => {
    if (w.recurrence === 'biweekly' && !w.anchor)
      ctx.addIssue({code: 'custom', path: ['anchor'], message: 'a biweekly window needs an anchor date (a day in a week when it opens)'})
    if (w.recurrence === 'monthly' && w.week === undefined)
      ctx.addIssue({code: 'custom', path: ['week'], message: 'a monthly window needs week: 1, 2, 3, 4 or last'})
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
  dataProbes: postgresDataProbesSchema.optional(),
})

export const redisComponentSchema = z.strictObject({
  type: z.literal('redis'),
  ...componentBase,
  sku: z.enum(['Basic', 'Standard', 'Premium']).default('Premium'),
  capacity: z.number().int().min(0).max(6).default(1),
  snapshots: z
    .strictObject({
      storageAccount: z.string().describe('Storage account that holds RDB snapshots'),
      container: z.string().default('redis-snapshots'),
      frequency: isoDuration.default('PT1H').describe('How often an RDB snapshot is taken'),
      resourceGroup: z.string().optional(),
    })
    .optional(),
  probe: z
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
        .describe('Data-plane sign-in: entra = a Microsoft Entra token from DefaultAzureCredential (scope https://redis.azure.com/.default, user = the principal\'s object id); accessKey = the key in OPSBOOK_PARAM_<accessKeyParam>'),
      accessKeyParam: z
        .string()
        .regex(/^[A-Za-z0-9_]+$/, 'expected the name of a parameter: letters, digits and _')
        .optional()
        .describe('With auth: accessKey, the parameter holding the access key: environment variable OPSBOOK_PARAM_<name> (never the key itself)'),
    })
    .superRefine((p, ctx) => {
      if (p.auth === 'accessKey' && !p.accessKeyParam)
        ctx.addIssue({code: 'custom', path: ['accessKeyParam'], message: 'auth: accessKey needs accessKeyParam: the name of an OPSBOOK_PARAM_<name> variable holding the key'})
    })
    .optional()
    .describe('Data probes read from the RDB snapshot and, when opsbook connects (TLS, certificate verified), from the cache itself'),
})

export const webappComponentSchema = z.strictObject({
  type: z.literal('webapp'),
  ...componentBase,
  slots: z.array(z.string()).default(['staging']).describe('Deployment slots besides production'),
  healthPath: z.string().startsWith('/').default('/health'),
  rollbackWindow: isoDuration.optional().describe('How long after a swap an automatic swap-back may happen (default: the environment\'s)'),
  gates: z
    .strictObject({
      maxHttp5xxRate: z.number().min(0).max(1).default(0.02).describe('Largest share of 5xx responses allowed after a swap'),
      maxP95ResponseMs: z.number().positive().default(1500),
    })
    .optional(),
  insights: z.string().optional().describe('Application Insights / Log Analytics workspace id for logs queries'),
})

export const storageComponentSchema = z.strictObject({
  type: z.literal('storage'),
  ...componentBase,
})

export const keyvaultComponentSchema = z.strictObject({
  type: z.literal('keyvault'),
  ...componentBase,
})

export const componentSchema = z.discriminatedUnion('type', [
  postgresComponentSchema,
  redisComponentSchema,
  webappComponentSchema,
  storageComponentSchema,
  keyvaultComponentSchema,
])
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
      .strictObject({env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as OPSBOOK_TEAMS_WEBHOOK')})
      .describe('Where the webhook URL is: it carries its own secret, so the catalog names an environment variable, never the URL'),
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
