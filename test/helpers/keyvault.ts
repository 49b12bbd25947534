/** Set a secret through an emulated vault's data plane (Set Secret, keyvault 7.5), as `az keyvault secret set` would. */
import type {RunningEmulator} from '../../src/emulator/server.js'

export async function setKeyVaultSecret(emulator: Pick<RunningEmulator, 'armEndpoint' | 'caPem'>, vault: string, name: string, value: string): Promise<void> {
  const https = await import('node:https')
  const url = new URL(`${emulator.armEndpoint}/_emulator/keyvault/${vault}/secrets/${name}?api-version=7.5`)
  await new Promise<void>((resolve, reject) => {
    const request = https.request(url, {method: 'PUT', ca: emulator.caPem, headers: {authorization: 'Bearer test', 'content-type': 'application/json'}}, (response) => {
      response.resume()
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`Set Secret answered ${response.statusCode}`))))
    })
    request.on('error', reject)
    request.end(JSON.stringify({value}))
  })
}
