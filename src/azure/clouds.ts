/**
 * Endpoints of the Azure clouds the catalog can name (`azureCloud`). Kept as data so the client factory stays
 * the only place that decides where requests go.
 */
import type {Environment} from '../catalog/schema.js'

export interface CloudEndpoints {
  /** Resource Manager, e.g. https://management.azure.com */
  arm: string
  /** Entra ID authority host for credentials. */
  authorityHost: string
  /** Log Analytics query endpoint (with /v1: a custom endpoint is used verbatim by LogsQueryClient). */
  logs: string
  /** Token audience of the Log Analytics API. */
  logsAudience: string
  /** Regional metrics batch endpoint for `region`. */
  metrics(region: string): string
  /** Blob endpoint of a storage account. */
  blob(account: string): string
  /**
   * Key Vault data plane: a vault's DNS suffix and the token audience
   * (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#dns-suffixes-for-object-identifiers).
   */
  keyVault: {dnsSuffix: string; audience: string}
}

export type AzureCloudName = Environment['azureCloud']

const clouds: Record<AzureCloudName, CloudEndpoints> = {
  AzurePublicCloud: {
    arm: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    logs: 'https://api.loganalytics.io/v1',
    logsAudience: 'https://api.loganalytics.io',
    metrics: (region) => `https://${region}.metrics.monitor.azure.com`,
    blob: (account) => `https://${account}.blob.core.windows.net`,
    keyVault: {dnsSuffix: 'vault.azure.net', audience: 'https://vault.azure.net'},
  },
  AzureChinaCloud: {
    arm: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    logs: 'https://api.loganalytics.azure.cn/v1',
    logsAudience: 'https://api.loganalytics.azure.cn',
    metrics: (region) => `https://${region}.metrics.monitor.azure.cn`,
    blob: (account) => `https://${account}.blob.core.chinacloudapi.cn`,
    keyVault: {dnsSuffix: 'vault.azure.cn', audience: 'https://vault.azure.cn'},
  },
  AzureUSGovernment: {
    arm: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    logs: 'https://api.loganalytics.us/v1',
    logsAudience: 'https://api.loganalytics.us',
    metrics: (region) => `https://${region}.metrics.monitor.azure.us`,
    blob: (account) => `https://${account}.blob.core.usgovcloudapi.net`,
    keyVault: {dnsSuffix: 'vault.usgovcloudapi.net', audience: 'https://vault.usgovcloudapi.net'},
  },
}

/** The endpoints of a named Azure cloud. */
export function cloudEndpoints(name: AzureCloudName): CloudEndpoints {
  return clouds[name]
}
