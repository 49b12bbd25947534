/**
 * Storage actions: the management-plane view of a blob container (immutability policy, legal hold, public access),
 * e.g. to prove an evidence container is write-once before a drill relies on it. Azurite has no immutability, so
 * this reads ARM (@azure/arm-storage 20, modular), imported lazily.
 */
import {z} from 'zod'
import {ActionFailure, toAzureError} from '../azure/errors.js'
import {armPath, azureServices, resolveResource, withRetryLog} from './resolve.js'
import {defineAction, type ActionDefinition} from './types.js'

const CONTAINER_READ = 'Microsoft.Storage/storageAccounts/blobServices/containers/read'

export const containerPropertiesAction = defineAction({
  name: 'storage.containerProperties',
  summary: 'Immutability policy, legal hold and public access of a blob container (optionally required)',
  input: z.strictObject({
    account: z.string().min(1).describe('Catalog component key or storage account name'),
    container: z.string().min(1),
    requireImmutable: z.boolean().default(false).describe('Fail unless a time-based immutability policy or version-level immutability is in place'),
    requireLocked: z.boolean().default(false).describe('Fail unless the immutability policy is Locked'),
  }),
  output: z.strictObject({
    account: z.string(),
    container: z.string(),
    publicAccess: z.string(),
    hasImmutabilityPolicy: z.boolean(),
    immutabilityDays: z.number().optional(),
    immutabilityState: z.string().optional(),
    immutableStorageWithVersioning: z.boolean(),
    hasLegalHold: z.boolean(),
    legalHoldTags: z.array(z.string()),
  }),
  changes: false,
  permissions: [CONTAINER_READ],
  az: (input, plan) => {
    const r = resolveResource(plan.environment, 'storage', input.account)
    return [`az storage container-rm show --resource-group ${r.resourceGroup} --storage-account ${r.name} --name ${input.container}`]
  },
  arm: (input, plan) => [{method: 'GET', path: armPath(resolveResource(plan.environment, 'storage', input.account), `/blobServices/default/containers/${input.container}`)}],
  async run(input, context) {
    const services = azureServices(context)
    const account = resolveResource(context.environment, 'storage', input.account)
    const container = await withRetryLog(context, services, async () => {
      const client = await services.storage()
      try {
        return await client.blobContainers.get(account.resourceGroup, account.name, input.container, {abortSignal: context.signal})
      } catch (error) {
        throw toAzureError(error, {operation: `read container ${account.name}/${input.container}`})
      }
    })
    const out = {
      account: account.name,
      container: input.container,
      publicAccess: container.publicAccess ?? 'None',
      hasImmutabilityPolicy: Boolean(container.hasImmutabilityPolicy),
      immutabilityDays: container.immutabilityPolicy?.immutabilityPeriodSinceCreationInDays,
      immutabilityState: container.immutabilityPolicy?.state,
      immutableStorageWithVersioning: Boolean(container.immutableStorageWithVersioning?.enabled),
      hasLegalHold: Boolean(container.hasLegalHold),
      legalHoldTags: (container.legalHold?.tags ?? []).map((t) => t.tag ?? '').filter(Boolean),
    }
    context.log(
      `${account.name}/${input.container}: immutability ${out.hasImmutabilityPolicy ? `${out.immutabilityDays} days (${out.immutabilityState})` : out.immutableStorageWithVersioning ? 'version-level' : 'none'}, legal hold ${out.hasLegalHold ? out.legalHoldTags.join(', ') : 'none'}, public access ${out.publicAccess}`,
    )
    if (input.requireImmutable && !out.hasImmutabilityPolicy && !out.immutableStorageWithVersioning)
      throw new ActionFailure(`${account.name}/${input.container} has no immutability policy: evidence written there can be changed or deleted`, {code: 'storage-not-immutable', details: out})
    if (input.requireLocked && out.immutabilityState !== 'Locked')
      throw new ActionFailure(`the immutability policy of ${account.name}/${input.container} is ${out.immutabilityState ?? 'absent'}, not Locked`, {code: 'storage-policy-unlocked', details: out})
    return out
  },
})

export const storageActions: ActionDefinition[] = [containerPropertiesAction]
