/**
 * Exported bundles are registered in the evidence container: `evidence export` writes the bundle's manifest.json to
 * `exports/<SHA-256 of the manifest>.json` (create-only, If-None-Match: *), and `evidence verify <bundle> --env …`
 * requires the bundle's manifest to be one registered there. The manifest lists the SHA-256 of every file of the
 * bundle, so this binds the files nothing else can (report.html, report.md, coverage.csv — they need the catalog's
 * objectives to be regenerated): an edit of any of them with the manifest recomputed yields a manifest opsbook never
 * exported. The run files are also compared with their Blob copies, and runs.csv is regenerated from the runs.
 * Conditional headers: https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
 */
import {createHash} from 'node:crypto'
import {statusOf, type EvidenceTarget} from './blob-sink.js'
import type {VerifyCheck} from './verify.js'

/** Blob name of a registered manifest. */
export function exportRecordName(manifest: Uint8Array): string {
  return `exports/${createHash('sha256').update(manifest).digest('hex')}.json`
}

/** Register a bundle's manifest (bytes as in the bundle). Registering the same manifest again is a no-op. Returns the blob name. */
export async function registerBundle(target: EvidenceTarget, manifest: Uint8Array): Promise<string> {
  const name = exportRecordName(manifest)
  const blob = target.client.getBlockBlobClient(name)
  try {
    await blob.upload(manifest, manifest.length, {blobHTTPHeaders: {blobContentType: 'application/json'}, conditions: {ifNoneMatch: '*'}, abortSignal: AbortSignal.timeout(20_000)})
  } catch (error) {
    // Already there: the name is the content's hash, so it holds this manifest (checked at verify).
    if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error
  }
  return name
}

/** Whether a bundle's manifest is one `evidence export` registered in `target`. */
export async function registeredManifestCheck(target: EvidenceTarget, manifest: Uint8Array): Promise<VerifyCheck> {
  const name = exportRecordName(manifest)
  const subject = 'manifest.json'
  let registered: Buffer | undefined
  try {
    registered = await target.client.getBlockBlobClient(name).downloadToBuffer(0, undefined, {abortSignal: AbortSignal.timeout(20_000)})
  } catch (error) {
    if (statusOf(error) !== 404) return {subject, ok: true, skipped: true, message: `manifest.json: registration not checked (${(error as Error).message.split('\n')[0]})`}
  }
  if (registered && Buffer.from(manifest).equals(registered))
    return {subject, ok: true, message: `manifest.json: registered at export in ${target.account}/${target.container}/${name}`}
  return {
    subject,
    ok: false,
    message: `manifest.json: SHA-256 ${name.slice('exports/'.length, -'.json'.length)} was never exported to ${target.account}/${target.container} (changed after export with the manifest recomputed, or exported without access to the evidence container: export it again)`,
  }
}
