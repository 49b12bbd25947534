/**
 * The emulator's TLS certificate: self-signed, SANs localhost + 127.0.0.1 + ::1, generated with `selfsigned` on
 * first start and kept in `<dir>/cert.pem` + `key.pem`. The certificate is its own CA, so `cert.pem` is the file
 * clients trust (NODE_EXTRA_CA_CERTS, `tlsOptions: {ca}`, `curl --cacert`).
 */
import {X509Certificate} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {EmulatorCertificate} from './context.js'

/** Load the certificate under `dir`, or generate and store a new one (also when the stored one is about to expire). */
export async function loadOrCreateCertificate(dir: string): Promise<EmulatorCertificate> {
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  if (existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8')
    const validTo = Date.parse(new X509Certificate(certPem).validTo)
    if (validTo - Date.now() > 7 * 86_400_000) return {certPem, keyPem: readFileSync(keyFile, 'utf8'), caFile: certFile}
  }
  const {generate} = await import('selfsigned')
  const notBeforeDate = new Date(Date.now() - 86_400_000)
  const pems = await generate([{name: 'commonName', value: 'localhost'}, {name: 'organizationName', value: 'opsbook emulator'}], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 825 * 86_400_000),
    extensions: [
      // A self-signed CA:true certificate can be trusted directly as the CA of its own chain.
      {name: 'basicConstraints', cA: true},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true},
      {name: 'extKeyUsage', serverAuth: true},
      {name: 'subjectAltName', altNames: [{type: 2, value: 'localhost'}, {type: 7, ip: '127.0.0.1'}, {type: 7, ip: '::1'}]},
    ],
  })
  mkdirSync(dir, {recursive: true})
  writeFileSync(keyFile, pems.private, {mode: 0o600})
  writeFileSync(certFile, pems.cert)
  return {certPem: pems.cert, keyPem: pems.private, caFile: certFile}
}

/**
 * The certificate of an emulator that keeps no state (a temporary folder, removed when it stops): the key pair the
 * first such emulator of this process generated, written into this one's folder. Generating an RSA-2048 key was most of
 * an in-process start's CPU (434 ms per start with a new key, 78 ms with a kept one: 8 starts each, load 13). `opsbook
 * run` and `emulator start` keep their certificate in the project (loadOrCreateCertificate); only a process that starts
 * emulator after emulator without state (the test suite's workers) reuses one, and a new pair is made before it expires.
 */
export async function ephemeralCertificate(dir: string): Promise<EmulatorCertificate> {
  const usable = (pems: {certPem: string}) => Date.parse(new X509Certificate(pems.certPem).validTo) - Date.now() > 7 * 86_400_000
  let pems = await ephemeral?.catch(() => undefined)
  if (!pems || !usable(pems)) {
    ephemeral = loadOrCreateCertificate(dir).then(({certPem, keyPem}) => ({certPem, keyPem}))
    pems = await ephemeral
  }
  const certFile = join(dir, 'cert.pem')
  if (!existsSync(certFile)) {
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'key.pem'), pems.keyPem, {mode: 0o600})
    writeFileSync(certFile, pems.certPem)
  }
  return {certPem: pems.certPem, keyPem: pems.keyPem, caFile: certFile}
}
let ephemeral: Promise<{certPem: string; keyPem: string}> | undefined

/** Host names the emulated PostgreSQL servers answer to (Azure's public DNS zone for flexible servers). */
export const POSTGRES_HOST_SUFFIX = 'postgres.database.azure.com'

/**
 * The certificate the emulator's real PostgreSQL servers present: issued by the emulator's CA (so clients trust the
 * same `cert.pem`) for `*.postgres.database.azure.com`, localhost and 127.0.0.1. Kept in `<dir>/postgres-*.pem`.
 */
export async function loadOrCreatePostgresCertificate(dir: string, ca: EmulatorCertificate): Promise<{certPem: string; keyPem: string}> {
  const certFile = join(dir, 'postgres-cert.pem')
  const keyFile = join(dir, 'postgres-key.pem')
  if (existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8')
    const cert = new X509Certificate(certPem)
    if (cert.checkIssued(new X509Certificate(ca.certPem)) && Date.parse(cert.validTo) - Date.now() > 7 * 86_400_000) return {certPem, keyPem: readFileSync(keyFile, 'utf8')}
  }
  const {generate} = await import('selfsigned')
  const notBeforeDate = new Date(Date.now() - 86_400_000)
  const pems = await generate([{name: 'commonName', value: `*.${POSTGRES_HOST_SUFFIX}`}, {name: 'organizationName', value: 'opsbook emulator'}], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 397 * 86_400_000),
    ca: {key: ca.keyPem, cert: ca.certPem},
    extensions: [
      {name: 'basicConstraints', cA: false},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
      {name: 'extKeyUsage', serverAuth: true},
      {name: 'subjectAltName', altNames: [{type: 2, value: `*.${POSTGRES_HOST_SUFFIX}`}, {type: 2, value: 'localhost'}, {type: 7, ip: '127.0.0.1'}]},
    ],
  })
  mkdirSync(dir, {recursive: true})
  writeFileSync(keyFile, pems.private, {mode: 0o600})
  writeFileSync(certFile, pems.cert)
  return {certPem: pems.cert, keyPem: pems.private}
}
