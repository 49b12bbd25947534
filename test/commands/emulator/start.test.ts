import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, copyFileSync} from 'node:fs'
import {get} from 'node:https'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'

const BIN = resolve('bin/run.js')

describe('opsbook emulator start', () => {
  it('prints the endpoint and CA file, and serves a seeded server over https trusted with that CA', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'opsbook-emu-cli-'))
    copyFileSync('runbooks.yaml', join(cwd, 'runbooks.yaml'))
    const child = spawn(process.execPath, [BIN, 'emulator', 'start', '--port', '0'], {cwd, env: {...process.env, OPSBOOK_EMULATOR_URL: ''}})
    try {
      let output = ''
      const printed = await new Promise<{endpoint: string; caFile: string; curl: string}>((done, fail) => {
        child.stdout.on('data', (chunk) => {
          output += chunk
          const endpoint = /ARM endpoint:\s+(\S+)/.exec(output)?.[1]
          const caFile = /CA file:\s+(\S+)/.exec(output)?.[1]
          const curl = /curl --cacert \S+ "([^"]+)"/.exec(output)?.[1]
          if (endpoint && caFile && curl) done({endpoint, caFile, curl})
        })
        child.stderr.on('data', (chunk) => (output += chunk))
        child.on('exit', (code) => fail(new Error(`emulator exited with ${code}: ${output}`)))
      })
      expect(printed.caFile).toBe(join(cwd, '.opsbook', 'emulator', 'certs', 'cert.pem'))
      expect(output).toContain('export NODE_EXTRA_CA_CERTS=')
      const {readFileSync} = await import('node:fs')
      const ca = readFileSync(printed.caFile, 'utf8')
      const body = await new Promise<any>((done, fail) =>
        get(printed.curl, {ca}, (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => done({status: res.statusCode, json: JSON.parse(text)}))
        }).on('error', fail),
      )
      expect(body.status).toBe(200)
      expect(body.json.name).toBe('pg-shop-orders')
      expect(body.json.properties.backup.backupRetentionDays).toBe(14)
    } finally {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGINT')
      await exited
      rmSync(cwd, {recursive: true, force: true})
    }
  })
})
