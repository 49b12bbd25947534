/**
 * Azure Service Bus (Microsoft.ServiceBus) management plane, read side: namespaces, queues, topics and their
 * subscriptions, with `properties.countDetails` (activeMessageCount, deadLetterMessageCount, scheduledMessageCount,
 * transferMessageCount, transferDeadLetterMessageCount) as the published contract describes them (namespace-preview.json
 * / Queue.json / subscriptions.json of Microsoft.ServiceBus 2021-11-01 and 2022-01-01-preview). Counts come from ARM;
 * message contents (and so the oldest dead letter's age) only from the data plane, which the emulator does not serve.
 *
 * Seeded from the catalog's servicebus components: every queue and topic subscription exists; the first queue holds a
 * few dead-lettered messages (so servicebus-dlq has something to report), the rest none.
 */
import type {ServiceBusComponent} from '../../catalog/schema.js'
import {apiVersionOf, checkScope, clone, paged, resourceIdOf, resourceNotFound} from '../arm.js'
import type {EmulatorContext} from '../context.js'
import type {EmulatorRequest, EmulatorResponse, Route} from '../types.js'
import {registerResourceInventory} from './resource-graph.js'

const NS_TYPE = 'Microsoft.ServiceBus/namespaces'
const N = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ServiceBus/namespaces/{ns}'

interface Counts {
  activeMessageCount: number
  deadLetterMessageCount: number
  scheduledMessageCount: number
  transferMessageCount: number
  transferDeadLetterMessageCount: number
}

export interface StoredNamespace {
  resource: {id: string; name: string; type: string; location: string; tags: Record<string, string>; sku: Record<string, unknown>; properties: Record<string, any>}
  resourceGroup: string
  queues: Record<string, Counts>
  topics: Record<string, {subscriptions: Record<string, Counts>}>
  createdAt: string
}

interface ServiceBusState {
  namespaces: Record<string, StoredNamespace>
}

export function serviceBusState(ctx: EmulatorContext): ServiceBusState {
  return ctx.store.slice<ServiceBusState>('servicebus', () => seed(ctx))
}

const counts = (deadLetters = 0, active = 0): Counts => ({activeMessageCount: active, deadLetterMessageCount: deadLetters, scheduledMessageCount: 0, transferMessageCount: 0, transferDeadLetterMessageCount: 0})

function seed(ctx: EmulatorContext): ServiceBusState {
  const state: ServiceBusState = {namespaces: {}}
  if (!ctx.seedFromCatalog) return state
  const createdAt = new Date(ctx.clock().getTime() - 60 * 86_400_000).toISOString()
  for (const component of Object.values(ctx.environment.components)) {
    if (component.type !== 'servicebus') continue
    const c: ServiceBusComponent = component
    const rg = c.resourceGroup ?? ctx.environment.resourceGroups[0]!
    const id = resourceIdOf(ctx.subscription, rg, NS_TYPE, c.name)
    state.namespaces[id.toLowerCase()] = {
      resource: {
        id,
        name: c.name,
        type: NS_TYPE,
        location: c.region ?? ctx.environment.region,
        tags: {...(c.tags ?? {})},
        sku: {name: c.sku, tier: c.sku, ...(c.sku === 'Premium' ? {capacity: 1} : {})},
        // Defaults of a namespace created without them: public access Enabled, TLS 1.2, local (SAS) auth on
        // (https://learn.microsoft.com/azure/service-bus-messaging/transport-layer-security-configure-minimum-version).
        properties: {
          provisioningState: 'Succeeded',
          status: 'Active',
          createdAt,
          updatedAt: createdAt,
          serviceBusEndpoint: `https://${c.name}.servicebus.windows.net:443/`,
          metricId: `${ctx.subscription}:${c.name}`,
          zoneRedundant: c.sku === 'Premium',
          disableLocalAuth: false,
          minimumTlsVersion: '1.2',
          publicNetworkAccess: 'Enabled',
          privateEndpointConnections: [],
        },
      },
      resourceGroup: rg,
      queues: Object.fromEntries(c.queues.map((q, i) => [q, counts(i === 0 ? 3 : 0, 5)])),
      topics: Object.fromEntries(
        c.topics.map((t) => {
          const topic = typeof t === 'string' ? {name: t, subscriptions: [] as string[]} : t
          return [topic.name, {subscriptions: Object.fromEntries(topic.subscriptions.map((s) => [s, counts(0, 2)]))}]
        }),
      ),
      createdAt,
    }
  }
  return state
}

/** Apply the estate's namespace settings (by namespace name). */
export function applyServiceBusEstate(ctx: EmulatorContext, settingsOf: (name: string) => {properties?: Record<string, unknown>; tags?: Record<string, string>} | undefined): void {
  for (const ns of Object.values(serviceBusState(ctx).namespaces)) {
    const s = settingsOf(ns.resource.name)
    if (s?.properties) Object.assign(ns.resource.properties, clone(s.properties))
    if (s?.tags) ns.resource.tags = {...s.tags}
  }
}

/**
 * A namespace as ARM answers it at the api-version asked for: SBNamespaceProperties of 2021-11-01 has neither
 * `minimumTlsVersion` nor `publicNetworkAccess`; 2022-01-01-preview adds `minimumTlsVersion` only
 * (specification/servicebus/resource-manager/Microsoft.ServiceBus/{stable/2021-11-01,preview/2022-01-01-preview}/namespace-preview.json,
 * vendored in test/fixtures/azure-specs). The stored resource keeps both: Resource Graph (the checks' source) has them.
 */
function namespaceView(ns: StoredNamespace, request: EmulatorRequest): Record<string, unknown> {
  const view = clone(ns.resource)
  const {publicNetworkAccess: _pna, minimumTlsVersion, ...properties} = view.properties
  view.properties = apiVersionOf(request) === '2021-11-01' ? properties : {...properties, ...(minimumTlsVersion === undefined ? {} : {minimumTlsVersion})}
  return view
}

function entityView(ns: StoredNamespace, path: string, type: string, name: string, c: Counts, extra: Record<string, unknown>, withLocation = true): Record<string, unknown> {
  return {
    id: `${ns.resource.id}/${path}`,
    name,
    type: `${NS_TYPE}/${type}`,
    ...(withLocation ? {location: ns.resource.location} : {}),
    properties: {
      countDetails: {...c},
      createdAt: ns.createdAt,
      updatedAt: ns.createdAt,
      accessedAt: ns.createdAt,
      messageCount: c.activeMessageCount + c.deadLetterMessageCount + c.scheduledMessageCount + c.transferMessageCount + c.transferDeadLetterMessageCount,
      lockDuration: 'PT1M',
      defaultMessageTimeToLive: 'P14D',
      deadLetteringOnMessageExpiration: false,
      maxDeliveryCount: 10,
      status: 'Active',
      enableBatchedOperations: true,
      ...extra,
    },
  }
}

export function routes(ctx: EmulatorContext): Route[] {
  const state = () => serviceBusState(ctx)
  serviceBusState(ctx)
  registerResourceInventory(ctx, 'servicebus', () => Object.values(state().namespaces).map((n) => clone(n.resource)))
  const find = (p: Record<string, string>): StoredNamespace | EmulatorResponse => {
    const scope = checkScope(ctx, p.sub!, p.rg!)
    if (scope) return scope
    return state().namespaces[resourceIdOf(p.sub!, p.rg!, NS_TYPE, p.ns!).toLowerCase()] ?? resourceNotFound(NS_TYPE, p.ns!, p.rg!)
  }
  const named = <T>(record: Record<string, T>, name: string): [string, T] | undefined => Object.entries(record).find(([k]) => k.toLowerCase() === name.toLowerCase())
  const queueView = (ns: StoredNamespace, name: string, c: Counts) =>
    entityView(ns, `queues/${name}`, 'queues', name, c, {sizeInBytes: 0, maxSizeInMegabytes: 1024, requiresDuplicateDetection: false, requiresSession: false, enablePartitioning: false, enableExpress: false})
  // SBSubscription is a v1 Resource (id, name, type; no location) in 2021-11-01 and a v2 ProxyResource (with location) in
  // 2022-01-01-preview (subscriptions.json of each version, vendored in test/fixtures/azure-specs).
  const subscriptionView = (ns: StoredNamespace, topic: string, name: string, c: Counts, request: EmulatorRequest) =>
    entityView(ns, `topics/${topic}/subscriptions/${name}`, 'topics/subscriptions', name, c, {requiresSession: false, deadLetteringOnFilterEvaluationExceptions: true}, apiVersionOf(request) !== '2021-11-01')
  return [
    {
      method: 'GET',
      pattern: N,
      operation: 'servicebus.namespaces.get',
      handler: (request, p) => {
        const ns = find(p)
        return 'resource' in ns ? {status: 200, body: namespaceView(ns, request)} : ns
      },
    },
    {
      method: 'GET',
      pattern: `${N}/queues`,
      operation: 'servicebus.queues.list',
      handler: (request, p) => {
        const ns = find(p)
        return 'resource' in ns ? paged(request, Object.entries(ns.queues).map(([name, c]) => queueView(ns, name, c))) : ns
      },
    },
    {
      method: 'GET',
      pattern: `${N}/queues/{queue}`,
      operation: 'servicebus.queues.get',
      handler: (_r, p) => {
        const ns = find(p)
        if (!('resource' in ns)) return ns
        const queue = named(ns.queues, p.queue!)
        return queue ? {status: 200, body: queueView(ns, queue[0], queue[1])} : resourceNotFound(`${NS_TYPE}/${ns.resource.name}/queues`, p.queue!, p.rg!)
      },
    },
    {
      method: 'GET',
      pattern: `${N}/topics`,
      operation: 'servicebus.topics.list',
      handler: (request, p) => {
        const ns = find(p)
        if (!('resource' in ns)) return ns
        return paged(
          request,
          Object.keys(ns.topics).map((name) => ({id: `${ns.resource.id}/topics/${name}`, name, type: `${NS_TYPE}/topics`, location: ns.resource.location, properties: {status: 'Active', subscriptionCount: Object.keys(ns.topics[name]!.subscriptions).length}})),
        )
      },
    },
    {
      method: 'GET',
      pattern: `${N}/topics/{topic}/subscriptions`,
      operation: 'servicebus.subscriptions.list',
      handler: (request, p) => {
        const ns = find(p)
        if (!('resource' in ns)) return ns
        const topic = named(ns.topics, p.topic!)
        if (!topic) return resourceNotFound(`${NS_TYPE}/${ns.resource.name}/topics`, p.topic!, p.rg!)
        return paged(request, Object.entries(topic[1].subscriptions).map(([name, c]) => subscriptionView(ns, topic[0], name, c, request)))
      },
    },
    {
      method: 'GET',
      pattern: `${N}/topics/{topic}/subscriptions/{subscription}`,
      operation: 'servicebus.subscriptions.get',
      handler: (request, p) => {
        const ns = find(p)
        if (!('resource' in ns)) return ns
        const topic = named(ns.topics, p.topic!)
        const sub = topic ? named(topic[1].subscriptions, p.subscription!) : undefined
        return topic && sub ? {status: 200, body: subscriptionView(ns, topic[0], sub[0], sub[1], request)} : resourceNotFound(`${NS_TYPE}/${ns.resource.name}/topics/${p.topic}/subscriptions`, p.subscription!, p.rg!)
      },
    },
  ]
}
