/**
 * The Azure resource a catalog component names: its ARM resource id, built from the environment's subscription,
 * the component's resource group (default: the environment's first) and the provider type of its kind.
 * Resource id format `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{resourceProviderNamespace}/{resourceType}/{resourceName}`:
 * https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules (provider types) and
 * https://learn.microsoft.com/rest/api/resources/resources/get-by-id (the id shape).
 * A SQL database is a child of its logical server: `Microsoft.Sql/servers/{server}/databases/{name}`
 * (https://learn.microsoft.com/azure/templates/microsoft.sql/servers/databases).
 */
import type {Component, Environment} from './schema.js'

/** ARM provider type of each component kind (the same types the actions and checks address). */
export const COMPONENT_PROVIDER_TYPE: Record<Component['type'], string> = {
  postgres: 'Microsoft.DBforPostgreSQL/flexibleServers',
  redis: 'Microsoft.Cache/redis',
  managedredis: 'Microsoft.Cache/redisEnterprise',
  webapp: 'Microsoft.Web/sites',
  storage: 'Microsoft.Storage/storageAccounts',
  keyvault: 'Microsoft.KeyVault/vaults',
  sqldb: 'Microsoft.Sql/servers',
  cosmosdb: 'Microsoft.DocumentDB/databaseAccounts',
  servicebus: 'Microsoft.ServiceBus/namespaces',
  containerapp: 'Microsoft.App/containerApps',
  functionapp: 'Microsoft.Web/sites',
  trafficmanager: 'Microsoft.Network/trafficmanagerprofiles',
  frontdoor: 'Microsoft.Cdn/profiles',
  appinsights: 'Microsoft.Insights/components',
  staticwebapp: 'Microsoft.Web/staticSites',
  apim: 'Microsoft.ApiManagement/service',
}

/** The ARM resource id of component `key` of the environment, or undefined when the environment has no such component. */
export function componentResourceId(environment: Environment, key: string): string | undefined {
  const component = Object.hasOwn(environment.components, key) ? environment.components[key] : undefined
  if (!component) return undefined
  const group = component.resourceGroup ?? environment.resourceGroups[0] ?? ''
  const base = `/subscriptions/${environment.subscription}/resourceGroups/${group}/providers/${COMPONENT_PROVIDER_TYPE[component.type]}`
  return component.type === 'sqldb' ? `${base}/${component.server}/databases/${component.name}` : `${base}/${component.name}`
}

/** Resource ids compare case-insensitively (ARM names and types are case-insensitive). */
export function sameResourceId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
