/**
 * Azure's published contracts for the emulator: the OpenAPI 2.0 documents vendored from Azure/azure-rest-api-specs
 * under test/fixtures/azure-specs, compiled with Ajv (JSON Schema 2019-09), so that every response the emulator gives
 * can be checked against the schema of the operation and status code it answers.
 *
 * Two readings of the Swagger documents make them match how ARM behaves:
 * - Object schemas are closed (`unevaluatedProperties: false`): ARM returns only the properties a resource's schema
 *   defines, so a property the spec does not have is a contract violation. Schemas that say `additionalProperties`,
 *   polymorphic bases (`discriminator`) and the parents a schema composes with `allOf` stay open; the parents are
 *   referenced through `<Name>__open` copies so the child sees their properties as evaluated.
 * - An enum marked `x-ms-enum.modelAsString: true` is extensible: any string is valid (AutoRest's x-ms-enum docs,
 *   https://github.com/Azure/autorest/blob/main/docs/extensions/readme.md#x-ms-enum); `modelAsString: false` enums
 *   and enums without x-ms-enum are checked.
 * - A property marked `x-ms-secret`, or whose `x-ms-mutability` lacks "read", must not be returned at all.
 * Formats (int32, date-time, arm-id…) are not checked: Swagger's formats are hints for code generators.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {Ajv2019, type ValidateFunction} from 'ajv/dist/2019.js'
import {apiVersionNamespace} from '../../src/emulator/api-versions.js'
import type {EmulatorExchange} from '../../src/emulator/server.js'

export const SPECS_ROOT = join(import.meta.dirname, '..', 'fixtures', 'azure-specs')
const BASE_URI = 'https://azure-specs.opsbook.test/'

type Json = any

export interface SpecResponse {
  schema?: Json
  headers?: Record<string, Json>
}

export interface SpecOperation {
  /** e.g. Microsoft.DBforPostgreSQL */
  provider: string
  apiVersion: string
  /** Path of the spec document below the fixtures root. */
  specFile: string
  operationId: string
  method: string
  template: string
  responses: Record<string, SpecResponse>
  /** Example title → absolute path of the example file. */
  examples: Record<string, string>
  /** Whether the spec marks it a long-running operation. */
  longRunning: boolean
  /** `x-ms-long-running-operation-options.final-state-schema`: the schema of the operation's final result, as a `$ref` resolved against its document. */
  finalStateSchema?: string
  regex: RegExp
  /** The operation's parameters (refs resolved): where each goes in the request. */
  parameters: Array<{name: string; in: string}>
  /** From a data-plane document: matched against the path below the emulator's prefix for that service (dataPlanePath). */
  dataPlane: boolean
  /** Whether the template has a parameter that spans segments (x-ms-skip-url-encoding: {resourceUri}, {scope}…). */
  greedy: boolean
  pointer: string
}

/** What the emulator's exchange observer records (src/emulator/server.ts). */
export type ContractExchange = EmulatorExchange

export interface ContractCheck {
  operation?: SpecOperation
  violations: string[]
}

export class ContractRegistry {
  readonly operations: SpecOperation[] = []
  // `code.optimize: false`: Ajv's pass over the generated code (dropping unused names, folding constants) was a third
  // of compileAll's CPU (9-10 s → 5-6 s for the 143 documents, tsx, 2 loaded cores, back to back); it changes how the
  // validators are written, not what they accept (https://ajv.js.org/options.html#code), and they run a few thousand
  // times per suite, where the unoptimised code costs nothing measurable.
  private readonly ajv = new Ajv2019({strict: false, allErrors: true, validateFormats: false, validateSchema: false, verbose: true, code: {optimize: false}})
  private readonly validators = new Map<string, ValidateFunction>()
  /** `${method} ${apiVersion}` → the operations of that method and version, in document order (match's candidates). */
  private readonly byMethodAndVersion = new Map<string, SpecOperation[]>()
  /**
   * Documents (by id) not yet given to Ajv. A document is closed and added when a validator first needs it, with the
   * documents it references: a process that checks a few hundred exchanges needs a few of the 143 (closing and adding
   * them all was 0.45 of the constructor's 1.0 s, tsx, per process), and compileAll adds them all.
   */
  private readonly unadded = new Map<string, Json>()
  /** Documents given to Ajv, closed, by id. */
  private readonly closed = new Map<string, Json>()
  /** closureKey → its validator (compile). */
  private readonly byClosure = new Map<string, ValidateFunction>()

  constructor(root = SPECS_ROOT) {
    for (const file of specDocuments(join(root, 'specification'))) {
      const specFile = relative(root, file).split('\\').join('/')
      const doc = readDocument(file)
      const id = BASE_URI + specFile
      for (const known of RETURNED_DESPITE_MUTABILITY)
        if (known.specFile === specFile) delete known.at(doc)['x-ms-mutability']
      for (const known of NULL_NEXT_LINK_ON_LAST_PAGE)
        if (known.specFile === specFile) for (const name of known.definitions) doc.definitions[name].properties.nextLink['x-nullable'] = true
      for (const known of TYPED_QUERY_CELLS)
        if (known.specFile === specFile) doc.definitions[known.definition].properties.rows.items.items = {type: ['string', 'number', 'boolean', 'null']}
      for (const known of LAST_PAGE_WITHOUT_NEXT_LINK)
        if (known.specFile === specFile)
          for (const name of known.definitions) doc.definitions[name].required = doc.definitions[name].required.filter((p: string) => p !== 'nextLink')
      this.unadded.set(id, doc)
      this.index(doc, specFile, id, file)
    }
    for (const op of this.operations) {
      const key = `${op.method} ${op.apiVersion}`
      const same = this.byMethodAndVersion.get(key)
      if (same) same.push(op)
      else this.byMethodAndVersion.set(key, [op])
    }
  }

  /** The spec operation answering `method path` at this api-version, if a vendored spec has it. */
  match(method: string, path: string, asked: string | null): SpecOperation | undefined {
    const apiVersion = asked ?? impliedApiVersion(path)
    // HEAD is its own operation where the spec defines one (ResourceGroups_CheckExistence), else GET's answer.
    const methods = method === 'HEAD' ? ['HEAD', 'GET'] : [method.toUpperCase()]
    for (const candidate of methods) {
      const below = dataPlanePath(path)
      const found = (this.byMethodAndVersion.get(`${candidate} ${apiVersion}`) ?? []).filter((op) => (op.dataPlane ? below !== undefined && op.regex.test(below) : op.regex.test(path)))
      // A template with a multi-segment parameter ({resourceId}, {scope}) matches many paths: the specific one wins.
      // Two documents of one api-version can define the same path (`GET /subscriptions/{id}/resources` is Resources -
      // List in resources.json and Vaults - List in Key Vault's keyvault.json, both at 2024-11-01): the document of
      // the namespace the path belongs to wins.
      const namespace = apiVersionNamespace(path)
      const own = (op: SpecOperation) => op.provider.toLowerCase() === namespace
      const best = found.find((op) => !op.greedy && own(op)) ?? found.find((op) => !op.greedy) ?? found[0]
      if (best) return best
    }
    return undefined
  }

  /** Providers and api-versions the vendored specs cover. */
  providers(): string[] {
    return [...new Set(this.operations.map((op) => `${op.provider}@${op.apiVersion}`))].sort()
  }

  /** Validate one exchange: documented status code, LRO headers, body against the schema. */
  check(exchange: ContractExchange): ContractCheck {
    const apiVersion = new URLSearchParams(exchange.query).get('api-version')
    const operation = this.match(exchange.method, exchange.path, apiVersion)
    if (!operation) return {violations: []}
    const violations: string[] = []
    const status = String(exchange.status)
    const documented = operation.responses[status] ?? (exchange.status >= 400 ? operation.responses.default : undefined)
    // An operation that lists no error response at all (no `default`: Cosmos DB's cosmos-db.json documents 200/202/204
    // only for the account and SQL resource operations) says nothing about ARM's errors (404 ResourceNotFound, 400…), which every operation can answer: an error
    // status there is not a violation, and its body is not checked.
    if (!documented && exchange.status >= 400 && !Object.keys(operation.responses).some((code) => code === 'default' || Number(code) >= 400)) return {operation, violations: []}
    // An error ARM's gateway answered itself (`x-ms-failure-cause: gateway`: the request never reached the resource
    // provider) is ARM's `{error: {code, message}}`, not the operation's `default`. Azure's recorded 404 for a missing
    // Front Door WAF policy (azure-powershell TestPolicyCrud.json, see src/emulator/services/frontdoor.ts) is one: its
    // body is ARM's ResourceNotFound, while Policies_Get's `default` is the provider's unwrapped {code, message}.
    if (exchange.status >= 400 && gatewayAnswered(exchange.headers)) {
      const error = (exchange.body as {error?: {code?: unknown; message?: unknown}} | undefined)?.error
      return {operation, violations: typeof error?.code === 'string' && typeof error.message === 'string' ? [] : [`${status} from ARM's gateway is not {error: {code, message}}`]}
    }
    if (!documented) {
      const listed = Object.keys(operation.responses).filter((code) => code !== 'default')
      violations.push(`status ${status} is not a documented response (the spec lists ${listed.join(', ')})`)
      return {operation, violations}
    }
    if ((status === '201' || status === '202') && documented.headers) {
      const sent = new Set(Object.keys(exchange.headers).map((h) => h.toLowerCase()))
      for (const header of Object.keys(documented.headers))
        if (/^(location|azure-asyncoperation)$/i.test(header) && !sent.has(header.toLowerCase()))
          violations.push(`${status} lacks the ${header} header the spec defines`)
    }
    // `type: file` is a stream (publishxml answers XML), not JSON: nothing to validate.
    if (documented.schema && documented.schema.type !== 'file' && exchange.method !== 'HEAD') {
      if (exchange.body === undefined) violations.push(`${status} has no JSON body; the spec defines one`)
      else {
        const key = `${operation.pointer}/responses/${exchange.status >= 400 && !operation.responses[status] ? 'default' : status}/schema`
        const validate = this.validator(key)
        if (!validate(exchange.body)) violations.push(...describeErrors(validate))
      }
    }
    return {operation, violations}
  }

  /** Validate a body against a schema named by an absolute `$ref` (an operation's finalStateSchema). */
  validateAgainst(ref: string, body: unknown): string[] {
    const validate = this.validator(ref)
    return validate(body) ? [] : describeErrors(validate)
  }

  /** Compile every response schema of every vendored operation; the failures (a document Ajv cannot read). */
  compileAll(): string[] {
    for (const id of [...this.unadded.keys()]) this.addDocument(id)
    const failures: string[] = []
    const seen = new Set<string>()
    for (const op of this.operations)
      for (const [status, response] of Object.entries(op.responses)) {
        if (!response.schema || response.schema.type === 'file') continue
        // Most responses are a `$ref` to a definition many operations share: compile each target once.
        const ref = typeof response.schema.$ref === 'string' && response.schema.$ref.startsWith('#') ? BASE_URI + op.specFile + response.schema.$ref : `${op.pointer}/responses/${status}/schema`
        if (seen.has(ref)) continue
        seen.add(ref)
        if (!this.validators.has(ref))
          try {
            this.validators.set(ref, this.compile(ref))
          } catch (error) {
            failures.push(`${op.specFile} ${op.operationId} ${status}: ${(error as Error).message}`)
          }
      }
    return failures
  }

  private validator(ref: string): ValidateFunction {
    let validate = this.validators.get(ref)
    if (!validate) {
      this.addDocument(ref.split('#')[0]!)
      validate = this.compile(ref)
      this.validators.set(ref, validate)
    }
    return validate
  }

  /**
   * The validator of the schema at `ref`, compiled once per distinct schema: successive api-versions of a document
   * repeat most definitions word for word, and a schema whose whole closure (it and everything it references, refs
   * numbered in the order they are reached) is the same text as one compiled before is the same schema — Ajv would
   * generate the same code for it. Measured: the 2,176 response schemas compileAll compiles are 556 distinct ones;
   * working that out costs 0.2-0.3 s (tsx). A compile that fails is not remembered: each ref fails on its own.
   */
  private compile(ref: string): ValidateFunction {
    const key = this.closureKey(ref)
    const known = key === undefined ? undefined : this.byClosure.get(key)
    if (known) return known
    const validate = this.ajv.compile({$ref: ref})
    if (key !== undefined) this.byClosure.set(key, validate)
    return validate
  }

  /** The hash of the text of the schema at `ref` and of every schema it references, transitively; undefined if one is missing. */
  private closureKey(ref: string): string | undefined {
    const order = new Map<string, number>([[ref, 0]])
    const queue = [ref]
    const parts: string[] = []
    for (let at = 0; at < queue.length; at++) {
      const current = queue[at]!
      const [base, pointer = ''] = current.split('#') as [string, string?]
      const schema = pointer
        .split('/')
        .filter(Boolean)
        .reduce((node: Json, key) => node?.[decodeURIComponent(key).replace(/~1/g, '/').replace(/~0/g, '~')], this.closed.get(base))
      if (schema === undefined) return undefined
      parts.push(
        JSON.stringify(schema, (key, value) => {
          if (key !== '$ref' || typeof value !== 'string') return value
          const target = absoluteRef(value, base)
          if (!order.has(target)) {
            order.set(target, order.size)
            queue.push(target)
          }
          return `@${order.get(target)}`
        }),
      )
    }
    return createHash('sha256').update(parts.join('\n')).digest('base64')
  }

  /** Give Ajv the (closed) document `id` and, first, every vendored document it references, if not given yet. */
  private addDocument(id: string): void {
    const doc = this.unadded.get(id)
    if (!doc) return
    this.unadded.delete(id)
    const closed = closeDocument(doc)
    this.closed.set(id, closed)
    for (const other of referencedDocuments(closed, id)) this.addDocument(other)
    this.ajv.addSchema(closed, id)
  }

  private index(doc: Json, specFile: string, id: string, file: string): void {
    const dir = dirname(file)
    // The provider is the spec's folder (resource-manager/Microsoft.X): resource groups and `/{resourceUri}/…`
    // templates name none.
    // Data-plane documents (specification/<service>/data-plane/Microsoft.X/…) describe what the emulator serves under its
    // own prefix for that service (dataPlanePrefix).
    const found = /(resource-manager|data-plane)\/(Microsoft\.[A-Za-z]+)\//.exec(specFile)
    if (!found) return
    const [, plane, provider] = found as unknown as [string, string, string]
    const dataPlane = plane === 'data-plane'
    for (const [template, item] of Object.entries<Json>(doc.paths ?? {})) {
      for (const [method, op] of Object.entries<Json>(item)) {
        if (!op || typeof op !== 'object' || !op.responses) continue
        // Whole documents are vendored, but only the examples of operations the emulator serves (README.md).
        const examples = Object.fromEntries(
          Object.entries<Json>(op['x-ms-examples'] ?? {})
            .map(([title, ref]) => [title, join(dir, ref.$ref)])
            .filter(([, file]) => existsSync(file)),
        )
        this.operations.push({
          provider,
          apiVersion: folderVersion(specFile) ?? doc.info.version,
          specFile,
          operationId: op.operationId,
          method: method.toUpperCase(),
          template,
          responses: op.responses,
          examples,
          longRunning: op['x-ms-long-running-operation'] === true,
          ...(typeof op['x-ms-long-running-operation-options']?.['final-state-schema'] === 'string'
            ? {finalStateSchema: absoluteRef(op['x-ms-long-running-operation-options']['final-state-schema'], id)}
            : {}),
          regex: templateRegex(template, dataPlane),
          dataPlane,
          greedy: GREEDY.test(template),
          // A verbatim document can reference the parameters of a cut-down neighbour that left them out (blob.json and
          // file.json → the 2025-08-01 storage.json cut): those are dropped (parameters only serve the example replay).
          parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])].flatMap((parameter: Json) => {
            const resolved = parameter.$ref ? resolveRef(file, parameter.$ref) : parameter
            return resolved ? [{name: resolved.name, in: resolved.in}] : []
          }),
          pointer: `${id}#/paths/${escapePointer(template)}/${method}`,
        })
      }
    }
  }
}

/**
 * Write-only marks the service and the spec's own examples contradict, each with its evidence: the mark is dropped, so
 * the property may be returned (everything else about it is still checked).
 * - Microsoft.Web Site `properties.siteConfig` is `x-ms-mutability: [create, update]` in 2024-11-01 (as amended),
 *   2025-03-01 and 2025-05-01 ("not returned in response to normal create and read requests since it may contain sensitive
 *   information"), yet live Azure returns it: `az webapp show` at 2024-11-01 (az recording test_webapp_slot_swap.yaml,
 *   replayed in recordings.test.ts) answers a siteConfig object with `numberOfWorkers`, `linuxFxVersion`, `alwaysOn`,
 *   `http20Enabled`… filled in and the sensitive parts (`appSettings`, `connectionStrings`, `metadata`) null; 2025-05-01's
 *   own example of Web Apps - Get Slot (examples/GetWebAppSlot.json, vendored) answers with one too, and 2022-03-01 to
 *   2024-04-01 define it as readable. The sensitive parts keep their create/update-only marks and must not be returned.
 */
const RETURNED_DESPITE_MUTABILITY: Array<{specFile: string; at: (doc: Json) => Json}> = ['stable/2024-11-01', 'AppService/stable/2025-03-01', 'stable/2025-05-01'].map((folder) => ({
  specFile: `specification/web/resource-manager/Microsoft.Web/${folder}/CommonDefinitions.json`,
  at: (doc: Json) => doc.definitions.Site.properties.properties.properties.siteConfig,
}))

/**
 * `required: ["nextLink"]` on a list that is `x-ms-pageable` with `nextLinkName: nextLink` cannot hold for the last
 * page: a client pages until the next link is null or absent (AutoRest's x-ms-pageable,
 * https://github.com/Azure/autorest/blob/main/docs/extensions/readme.md#x-ms-pageable), so a page that always carried one
 * would never end. Subscriptions - List and Tenants - List (subscriptions.json 2019-11-01, 2021-01-01 and 2022-12-01) say so; the mark is dropped
 * and the emulator's single page answers without a next link, as every other pageable list it serves.
 */
const LAST_PAGE_WITHOUT_NEXT_LINK: Array<{specFile: string; definitions: string[]}> = [
  ...['2019-11-01', '2021-01-01', '2022-12-01'].map((v) => ({specFile: `specification/resources/resource-manager/Microsoft.Resources/stable/${v}/subscriptions.json`, definitions: ['SubscriptionListResult', 'TenantListResult']})),
]

/**
 * A last page whose `nextLink` is JSON null, where the definition types it a plain string: Key Vault's data plane
 * answers so, and its own example says it — GetCertificates-example.json (keyvault data-plane stable/7.5, read @
 * 114077a2) ends its one page with `"nextLink": null`. The property is read as `x-nullable` (AutoRest's x-nullable:
 * null is a valid value); everything else about it is still checked.
 */
const NULL_NEXT_LINK_ON_LAST_PAGE: Array<{specFile: string; definitions: string[]}> = [
  {specFile: 'specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/certificates.json', definitions: ['CertificateListResult']},
]

/**
 * A Log Analytics query's cells are JSON values typed by their column, where operationalinsights data-plane stable/v1
 * OperationalInsights.json (read @ 6975f8b9) types every cell a string: Microsoft's page on the response format
 * (https://learn.microsoft.com/azure/azure-monitor/logs/api/response-format) answers `["Administrative", 20839]` for a
 * `count_` column of type long, and the document's own example (examples/oms-post-example.json @ dcbcfc9a) has `null`
 * cells. A cell is read as a string, number, boolean or null; the table's other properties are still checked.
 */
const TYPED_QUERY_CELLS: Array<{specFile: string; definition: string}> = [
  {specFile: 'specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/v1/OperationalInsights.json', definition: 'table'},
]

function gatewayAnswered(headers: Record<string, string | string[] | undefined>): boolean {
  return Object.entries(headers).some(([name, value]) => name.toLowerCase() === 'x-ms-failure-cause' && String(value).toLowerCase() === 'gateway')
}

/**
 * The api-version a document serves is its folder's (`…/stable/2025-08-01/file.json`): ARM routes by the path, and a
 * stored revision can still carry the version it was copied from (Storage 2025-08-01 file.json @ 3aac6975 says
 * `"version": "2025-01-01"`: the copy commit of the new version, vendored byte-identical). Documents outside a
 * version folder keep `info.version`.
 */
function folderVersion(specFile: string): string | undefined {
  return /\/(?:stable|preview)\/(\d{4}-\d{2}-\d{2}(?:-preview)?)\//.exec(specFile)?.[1]
}

/**
 * Every spec document read in this process, parsed once: the registry reads each, and resolving an operation's
 * parameters reads the document itself (`#/parameters/X`) and its neighbours (`./common.json#/parameters/X`). What the
 * registry changes in a document (the known deviations above) is not what parameters are read from.
 */
const documents = new Map<string, Json>()

function readDocument(path: string): Json {
  let doc = documents.get(path)
  if (!doc) documents.set(path, (doc = JSON.parse(readFileSync(path, 'utf8'))))
  return doc
}

/** The JSON a `$ref` (`other.json#/parameters/X` or `#/parameters/X`) points to, from the document `from`. */
function resolveRef(from: string, ref: string): Json {
  const [file, pointer = ''] = ref.split('#')
  const doc = readDocument(file ? join(dirname(from), file) : from)
  return pointer
    .split('/')
    .filter(Boolean)
    .reduce((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
}

function specDocuments(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'examples') found.push(...specDocuments(path))
    } else if (entry.name.endsWith('.json')) found.push(path)
  }
  return found.sort()
}

/**
 * Path parameters the vendored specs mark `x-ms-skip-url-encoding`: they carry several segments (a resource ID, a
 * scope, a parent resource path).
 */
const GREEDY_NAMES = ['resourceUri', 'resourceId', 'scope', 'scopeId', 'parentResourcePath', 'resourceType']
const GREEDY = new RegExp(`\\{(${GREEDY_NAMES.join('|')})\\}`)

/**
 * The path a data-plane document's templates describe, for a request the emulator serves as that data plane: Key Vault's
 * (`https://{vault}.vault.azure.net/secrets/…`) under `/_emulator/keyvault/{vault}` (src/emulator/services/keyvault-data.ts),
 * Log Analytics queries (below), Azure Monitor's metrics batch (`https://{region}.metrics.monitor.azure.com/subscriptions/{sub}/metrics:getBatch`) at its own
 * path (src/emulator/services/monitor.ts). Undefined for any other request.
 */
function dataPlanePath(path: string): string | undefined {
  const vault = /^\/_emulator\/keyvault\/[^/]+(\/.*)$/i.exec(path)
  if (vault) return vault[1]
  if (/^\/subscriptions\/[^/]+\/metrics:getBatch$/i.test(path)) return path
  // Log Analytics (`https://api.loganalytics.io/v1/workspaces/{id}/query`, the document's basePath `/v1`): served at
  // `/workspaces/{id}/query` and `/v1/workspaces/{id}/query` (src/emulator/services/monitor.ts).
  const logs = LOG_ANALYTICS_QUERY.exec(path)
  if (logs) return logs[1]
  return undefined
}

const LOG_ANALYTICS_QUERY = /^(?:\/v1)?(\/workspaces\/[^/]+\/query)$/i

/**
 * The version of a request that carries none in its query: Log Analytics puts it in the path (basePath `/v1` of
 * operationalinsights data-plane stable/v1 OperationalInsights.json, whose `info.version` is `v1`).
 */
function impliedApiVersion(path: string): string | null {
  return LOG_ANALYTICS_QUERY.test(path) ? 'v1' : null
}

/**
 * A template's path pattern. In a data-plane document a last `{…-version}` segment may be empty or absent: Key Vault's
 * GetSecret says of `secret-version` "This URI fragment is optional. If not specified, the latest version of the secret is
 * returned" (keyvault data-plane 7.5 secrets.json), and the SDKs send `/secrets/{name}/` for the latest version.
 */
function templateRegex(template: string, dataPlane = false): RegExp {
  if (dataPlane && /\/\{[^}/]*version\}$/i.test(template)) {
    const head = templateRegex(template.replace(/\/\{[^}/]*version\}$/i, '')).source.slice(1, -1)
    return new RegExp(`^${head}(?:/[^/]*)?$`, 'i')
  }
  const source = template
    .split('/')
    .map((segment) => {
      if (/^\{[^}]+\}$/.test(segment)) return GREEDY.test(segment) ? '.+' : '[^/]+'
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('/')
  return new RegExp(`^${source}$`, 'i')
}

/** The ids of the other documents a (closed) document's `$ref`s point into. */
function referencedDocuments(doc: Json, id: string): Set<string> {
  const found = new Set<string>()
  const visit = (node: Json): void => {
    if (!node || typeof node !== 'object') return
    if (Array.isArray(node)) {
      for (const item of node) visit(item)
      return
    }
    for (const [key, value] of Object.entries<Json>(node))
      if (key === '$ref' && typeof value === 'string') {
        if (!value.startsWith('#')) found.add(absoluteRef(value, id).split('#')[0]!)
      } else visit(value)
  }
  visit(doc)
  found.delete(id)
  return found
}

/** A `$ref` of a document (`#/definitions/X`, `./Other.json#/definitions/X`) made absolute against its id. */
function absoluteRef(ref: string, id: string): string {
  return new URL(ref, id).href
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

function describeErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((error) => {
    const at = error.instancePath || '(body)'
    if (error.keyword === 'unevaluatedProperties') return `${at}: property '${(error.params as {unevaluatedProperty: string}).unevaluatedProperty}' is not defined by the spec`
    if (error.keyword === 'false schema') return `${at}: is write-only in the spec (x-ms-secret, or x-ms-mutability without read) and must not be returned`
    if (error.keyword === 'pattern' && error.parentSchema?.['x-enum']) return `${at}: must be one of (${error.parentSchema['x-enum'].join(', ')}), in any case`
    if (error.keyword === 'enum') return `${at}: ${error.message} (${(error.params as {allowedValues: unknown[]}).allowedValues.join(', ')})`
    return `${at}: ${error.message}`
  })
}

// ── closing the Swagger schemas (see the header comment) ─────────────────────────────────────────────────────

function closeDocument(doc: Json): Json {
  const out: Json = {...doc, definitions: {}, paths: {}}
  for (const [name, schema] of Object.entries<Json>(doc.definitions ?? {})) {
    out.definitions[name] = rewrite(schema, false)
    out.definitions[`${name}__open`] = rewrite(schema, true)
  }
  for (const [template, item] of Object.entries<Json>(doc.paths ?? {})) {
    out.paths[template] = {}
    for (const [method, op] of Object.entries<Json>(item)) {
      if (!op?.responses) continue
      const responses: Json = {}
      for (const [status, response] of Object.entries<Json>(op.responses))
        responses[status] = response.schema ? {...response, schema: rewrite(response.schema, false)} : response
      out.paths[template][method] = {...op, responses}
    }
  }
  return out
}

function rewrite(schema: Json, open: boolean): Json {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema
  const out: Json = {...schema}
  // Swagger 2.0 (JSON Schema draft 4) writes exclusiveMinimum/exclusiveMaximum as booleans beside minimum/maximum
  // (Front Door's afdx.json: `"maximum": 65535, "exclusiveMaximum": false`); 2019-09 wants the bound itself.
  for (const [exclusive, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[exclusive] !== 'boolean') continue
    if (out[exclusive] && typeof out[bound] === 'number') {
      out[exclusive] = out[bound]
      delete out[bound]
    } else delete out[exclusive]
  }
  // `x-nullable: true` (Swagger 2.0's AutoRest extension): null is a valid value of the typed property.
  if (out['x-nullable'] === true && typeof out.type === 'string') out.type = [out.type, 'null']
  if (out.enum && out['x-ms-enum'] && out['x-ms-enum'].modelAsString !== false) delete out.enum
  else if (Array.isArray(out.enum) && out.enum.every((v: unknown) => typeof v === 'string')) return rewrite(caseInsensitive(out, out.enum), open)
  if (out.properties) out.properties = Object.fromEntries(Object.entries<Json>(out.properties).map(([k, v]) => [k, writeOnly(v) ? false : rewrite(v, false)]))
  if (out.items) out.items = rewrite(out.items, false)
  if (out.additionalProperties && typeof out.additionalProperties === 'object') out.additionalProperties = rewrite(out.additionalProperties, false)
  if (out.allOf) out.allOf = out.allOf.map((member: Json) => (member.$ref ? {...member, $ref: openRef(member.$ref)} : rewrite(member, true)))
  // `type: object` with nothing else is AutoRest's "any" (a JToken: Resource Graph's `data` is an array or a table).
  if (out.type === 'object' && !out.properties && !out.allOf && out.additionalProperties === undefined && !out.discriminator) {
    delete out.type
    return out
  }
  const objectLike = out.type === 'object' || out.properties !== undefined || out.allOf !== undefined
  if (!open && objectLike && out.additionalProperties === undefined && out.discriminator === undefined) out.unevaluatedProperties = false
  return out
}

/**
 * A property never returned in a response: `x-ms-secret`, or `x-ms-mutability` without "read" (AutoRest's
 * x-ms-mutability: "read" means the property is returned in responses). Its schema becomes `false`.
 */
function writeOnly(schema: Json): boolean {
  if (!schema || typeof schema !== 'object') return false
  if (schema['x-ms-secret'] === true) return true
  const mutability = schema['x-ms-mutability']
  return Array.isArray(mutability) && !mutability.includes('read')
}

/**
 * A closed enum, compared as ARM compares enum values: case-insensitively (Storage answers `"permissions": "FULL"`
 * where storage.json lists Read, Full). JSON Schema has no case-insensitive enum, so it becomes a pattern of
 * per-letter classes; `x-enum` keeps the values for the error message.
 */
function caseInsensitive(schema: Json, values: string[]): Json {
  const letters = (v: string) => [...v].map((c) => (c.toLowerCase() === c.toUpperCase() ? c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : `[${c.toLowerCase()}${c.toUpperCase()}]`)).join('')
  const {enum: _values, ...rest} = schema
  return {...rest, type: 'string', pattern: `^(?:${values.map(letters).join('|')})$`, 'x-enum': values}
}

function openRef(ref: string): string {
  return /#\/definitions\/[^/]+$/.test(ref) ? `${ref}__open` : ref
}

let shared: ContractRegistry | undefined

/**
 * The vendored specs as one registry per worker, for every test file that checks an answer (files share a worker's
 * loaded modules, isolate: false): reading every spec document takes a second and each validator is compiled once,
 * and a registry's documents and operations never change once built. Built on first use. Measured (tsx, one process):
 * the constructor 1.0 s CPU, compileAll 4.5-6 s; the suite built four registries per run before (specs, examples,
 * recordings and activity-log each its own), and compiled their validators once per registry.
 */
export function contractRegistry(): ContractRegistry {
  shared ??= new ContractRegistry()
  return shared
}

