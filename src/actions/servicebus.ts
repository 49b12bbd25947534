/**
 * Azure Service Bus actions: a read-only report of dead-lettered messages per queue and topic subscription, from the
 * management plane's `countDetails.deadLetterMessageCount` (@azure/arm-servicebus 6, api-version 2021-11-01).
 *
 * The oldest dead letter's age is not reported: it needs the message itself, and Service Bus offers a non-destructive
 * peek only over AMQP; the HTTPS REST "peek-lock" locks the message and counts a delivery
 * (https://learn.microsoft.com/rest/api/servicebus/peek-lock-message-non-destructive-read), which a read-only report
 * must not do. The emulator serves no Service Bus data plane either. Counts are what ARM reports (refreshed by the
 * service, not transactionally exact: https://learn.microsoft.com/azure/service-bus-messaging/message-counters).
 */
import {z} from 'zod'
import type {Environment, ServiceBusComponent} from '../catalog/schema.js'
import {ExitCode, OpsbookError} from '../errors.js'
import {toAzureError} from '../azure/errors.js'
import {azureServices, withRetryLog} from './resolve.js'
import {defineAction, type ActionDefinition} from './types.js'

const READ = 'Microsoft.ServiceBus/namespaces/queues/read'
const READ_SUBSCRIPTIONS = 'Microsoft.ServiceBus/namespaces/topics/subscriptions/read'
export const SERVICEBUS_API_VERSION = '2021-11-01'

export const OLDEST_AGE_NOTE =
  'oldest dead letter age not reported: it needs the message (data plane); Service Bus peeks without locking only over AMQP, and a read-only report must not lock messages'

function namespaceOf(environment: Environment, reference: string): {key?: string; component?: ServiceBusComponent; name: string; resourceGroup: string} {
  const byKey = environment.components[reference]
  if (byKey && byKey.type !== 'servicebus') throw new OpsbookError(`component ${reference} is a ${byKey.type}, not a servicebus`, {exitCode: ExitCode.invalidInput, code: 'wrong-component-type'})
  const found = byKey ? ([reference, byKey] as const) : Object.entries(environment.components).find(([, c]) => c.type === 'servicebus' && c.name.toLowerCase() === reference.toLowerCase())
  const component = found?.[1] as ServiceBusComponent | undefined
  return {key: found?.[0], component, name: component?.name ?? reference, resourceGroup: component?.resourceGroup ?? environment.resourceGroups[0]!}
}

const entityRow = z.strictObject({
  entity: z.string().describe('queue name, or topic/subscription'),
  kind: z.enum(['queue', 'subscription']),
  deadLetters: z.number(),
  transferDeadLetters: z.number(),
  active: z.number(),
  flagged: z.boolean().describe('More dead letters than the catalog tolerates (deadLetter.maxMessages, default 0)'),
})

export const deadLetterReportAction = defineAction({
  name: 'servicebus.deadLetterReport',
  summary: 'Report dead-lettered message counts per queue and topic subscription (read-only)',
  description: `Lists the namespace's queues and every topic's subscriptions and reads countDetails (deadLetterMessageCount, transferDeadLetterMessageCount, activeMessageCount). An entity with more dead letters than deadLetter.maxMessages (catalog; default 0) is flagged. With failOnDeadLetters the step fails when any is flagged. Changes nothing. Note: ${OLDEST_AGE_NOTE}.`,
  input: z.strictObject({
    namespace: z.string().min(1).describe('Catalog component key (servicebus) or namespace name'),
    failOnDeadLetters: z.boolean().default(false).describe('Fail the step when any entity is flagged'),
  }),
  output: z.strictObject({
    namespace: z.string(),
    entities: z.array(entityRow),
    totalDeadLetters: z.number(),
    flagged: z.array(z.string()),
    oldestAgeNote: z.string(),
  }),
  changes: false,
  permissions: [READ, 'Microsoft.ServiceBus/namespaces/topics/read', READ_SUBSCRIPTIONS],
  az: (input, plan) => {
    const ns = namespaceOf(plan.environment, input.namespace)
    const lines = [`az servicebus queue list --resource-group ${ns.resourceGroup} --namespace-name ${ns.name} --query "[].{queue: name, deadLetters: countDetails.deadLetterMessageCount}" -o table`]
    for (const queue of ns.component?.queues ?? []) lines.push(`az servicebus queue show --resource-group ${ns.resourceGroup} --namespace-name ${ns.name} --name ${queue} --query countDetails`)
    for (const topic of ns.component?.topics ?? [])
      lines.push(`az servicebus topic subscription list --resource-group ${ns.resourceGroup} --namespace-name ${ns.name} --topic-name ${typeof topic === 'string' ? topic : topic.name} --query "[].{subscription: name, deadLetters: countDetails.deadLetterMessageCount}" -o table`)
    return lines
  },
  arm: (input, plan) => {
    const ns = namespaceOf(plan.environment, input.namespace)
    const base = `/subscriptions/${plan.environment.subscription}/resourceGroups/${ns.resourceGroup}/providers/Microsoft.ServiceBus/namespaces/${ns.name}`
    return [
      {method: 'GET', path: `${base}/queues?api-version=${SERVICEBUS_API_VERSION}`},
      {method: 'GET', path: `${base}/topics?api-version=${SERVICEBUS_API_VERSION}`},
      {method: 'GET', path: `${base}/topics/<topic>/subscriptions?api-version=${SERVICEBUS_API_VERSION}`, note: 'per topic'},
    ]
  },
  async run(input, context) {
    const services = azureServices(context)
    const ns = namespaceOf(context.environment, input.namespace)
    const tolerated = ns.component?.deadLetter?.maxMessages ?? 0
    const client = await services.serviceBus()
    const entities = await withRetryLog(context, services, async () => {
      const rows: Array<z.infer<typeof entityRow>> = []
      const row = (entity: string, kind: 'queue' | 'subscription', c: {deadLetterMessageCount?: number; transferDeadLetterMessageCount?: number; activeMessageCount?: number} | undefined) => {
        const deadLetters = c?.deadLetterMessageCount ?? 0
        rows.push({entity, kind, deadLetters, transferDeadLetters: c?.transferDeadLetterMessageCount ?? 0, active: c?.activeMessageCount ?? 0, flagged: deadLetters > tolerated})
      }
      try {
        for await (const queue of client.queues.listByNamespace(ns.resourceGroup, ns.name, {abortSignal: context.signal})) row(queue.name ?? '?', 'queue', queue.countDetails)
        for await (const topic of client.topics.listByNamespace(ns.resourceGroup, ns.name, {abortSignal: context.signal}))
          for await (const sub of client.subscriptions.listByTopic(ns.resourceGroup, ns.name, topic.name!, {abortSignal: context.signal})) row(`${topic.name}/${sub.name}`, 'subscription', sub.countDetails)
      } catch (error) {
        throw toAzureError(error, {operation: `read the queues and subscriptions of Service Bus namespace ${ns.name}`})
      }
      return rows
    })
    for (const e of entities) context.log(`${e.entity}: ${e.deadLetters} dead-lettered${e.transferDeadLetters ? ` (+${e.transferDeadLetters} transfer)` : ''}${e.flagged ? ' — FLAGGED' : ''}`)
    context.log(OLDEST_AGE_NOTE)
    const flagged = entities.filter((e) => e.flagged).map((e) => e.entity)
    const result = {namespace: ns.name, entities, totalDeadLetters: entities.reduce((n, e) => n + e.deadLetters, 0), flagged, oldestAgeNote: OLDEST_AGE_NOTE}
    if (input.failOnDeadLetters && flagged.length > 0)
      throw new OpsbookError(`${flagged.length} entit${flagged.length === 1 ? 'y has' : 'ies have'} more than ${tolerated} dead-lettered message(s): ${flagged.join(', ')}`, {code: 'servicebus-dead-letters'})
    return result
  },
})

export const serviceBusActions: ActionDefinition[] = [deadLetterReportAction]
