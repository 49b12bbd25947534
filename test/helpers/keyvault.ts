/** Set a secret through an emulated vault's data plane (Set Secret, keyvault 7.5), as `az keyvault secret set` would. */
import type {RunningEmulator} from '../../src/emulator/server.js'
import {credentialFor} from '../emulator/helpers.js'

export async function setKeyVaultSecret(emulator: Pick<RunningEmulator, 'armEndpoint' | 'caPem' | 'identityHeader'>, vault: string, name: string, value: string): Promise<void> {
  const https = await import('node:https')
  // A token for the Key Vault audience from the emulator's issuer (it validates tokens as Key Vault does).
  const token = (await credentialFor(emulator).getToken('https://vault.azure.net/.default'))!.token
  const url = new URL(`${emulator.armEndpoint}/_emulator/keyvault/${vault}/secrets/${name}?api-version=7.5`)
  await new Promise<void>((resolve, reject) => {
    const request = https.request(url, {method: 'PUT', ca: emulator.caPem, agent: false, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'}}, (response) => {
      response.resume()
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`Set Secret answered ${response.statusCode}`))))
    })
    request.on('error', reject)
    request.end(JSON.stringify({value}))
  })
}
