/**
 * The real data plane behind an emulated cache: one redis-server for the file. Its RDB files are read back with our
 * RDB reader (every object type Redis 7 writes, compressed strings, expiries), and an RDB loads into a fresh server.
 */
import {randomBytes} from 'node:crypto'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {loadOrCreateCertificate} from '../../../src/emulator/certificate.js'
import type {EmulatorCertificate} from '../../../src/emulator/context.js'
import {findRedisServer, RedisEngine} from '../../../src/emulator/engines/redis.js'
import {startRedisLoad} from '../../../src/emulator/load/redis.js'
import {readRdb, RdbFormatError, timestampOf} from '../../../src/support/rdb.js'

const binary = findRedisServer()

describe.skipIf(!binary)('RedisEngine + readRdb', () => {
  let dir: string
  let engine: RedisEngine
  let certificate: EmulatorCertificate
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-redis-engine-'))
    certificate = await loadOrCreateCertificate(join(dir, 'certs'))
    engine = new RedisEngine({binary: binary!, dir: join(dir, 'cache'), certificate, seed: async (c) => void (await c.set('seeded', 'yes'))})
  })
  afterAll(async () => {
    await engine?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('reads every object type of a real Redis 7 RDB and the canary value', async () => {
    const c = await engine.client()
    const at = new Date('2026-12-02T06:00:00.000Z')
    await c.set('opsbook:canary', JSON.stringify({at: at.toISOString(), by: 'opsbook', padding: 'x'.repeat(60)}))
    await c.set('int', '12345')
    await c.set('big', 'abc'.repeat(500)) // LZF-compressed
    await c.set('ttl', 'v', 'EX', 3600)
    await c.rpush('list-small', 'a', 'b')
    await c.rpush('list-big', ...Array.from({length: 300}, (_, i) => `item-${i}-${'z'.repeat(20)}`))
    await c.sadd('set-int', 1, 2, 3)
    await c.sadd('set-small', 'a', 'b')
    await c.sadd('set-big', ...Array.from({length: 200}, (_, i) => `m${i}`))
    await c.zadd('zset-small', 1, 'a', 2.5, 'b')
    await c.zadd('zset-big', ...Array.from({length: 200}, (_, i) => [i, `m${i}`]).flat())
    await c.hset('hash-small', 'f', 'v')
    await c.hset('hash-big', Object.fromEntries(Array.from({length: 200}, (_, i) => [`f${i}`, `v${i}`])))
    await c.xadd('stream', '*', 'field', 'value')
    await c.xgroup('CREATE', 'stream', 'group', '0')
    await c.xreadgroup('GROUP', 'group', 'consumer', 'COUNT', 1, 'STREAMS', 'stream', '>')
    await c.select(3)
    await c.set('other-db', '1')
    await c.select(0)

    const db0 = await c.dbsize()
    const rdb = await engine.snapshot()
    const summary = readRdb(rdb, ['opsbook:canary', 'big', 'int', 'list-small'])
    expect(summary.version).toBe(10)
    expect(summary.keyCount).toBe(db0 + 1)
    expect(summary.keysByDb).toEqual({0: db0, 3: 1})
    expect(summary.keysByType).toMatchObject({string: 6, list: 2, set: 3, zset: 2, hash: 2, stream: 1})
    expect(summary.expiring).toBe(1)
    expect(summary.values.big).toBe('abc'.repeat(500))
    expect(summary.values.int).toBe('12345')
    expect(summary.notString).toEqual(['list-small'])
    expect(timestampOf(summary.values['opsbook:canary']!)?.toISOString()).toBe(at.toISOString())
    expect(Date.parse(summary.createdAt!)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('loads an RDB into the server, replacing its data', async () => {
    const c = await engine.client()
    await c.flushall()
    await c.set('kept', 'one')
    const rdb = await engine.snapshot()
    await c.set('later', 'two')
    await engine.load(rdb)
    const after = await engine.client()
    expect(await after.get('kept')).toBe('one')
    expect(await after.get('later')).toBeNull()
    expect(await after.dbsize()).toBe(1)
  })

  it('load: keeps writing timestamped keys and the canary over TLS (the emulator\'s CA) until stopped', async () => {
    const c = await engine.client()
    await c.flushall()
    const load = startRedisLoad({host: '127.0.0.1', port: await engine.tlsPort(), tls: {ca: certificate.certPem, servername: 'localhost'}}, {ratePerSecond: 400, keySpace: 50})
    await vi.waitFor(() => expect(load.written()).toBeGreaterThanOrEqual(60), {timeout: 20_000, interval: 50})
    await load.stop()
    const stoppedAt = load.written()
    expect(load.lastError()).toBeUndefined()
    expect(await c.dbsize()).toBe(51) // 50 load keys cycled + the canary
    const canary = JSON.parse((await c.get('opsbook:canary'))!) as {at: string; by: string}
    expect(canary.by).toBe('opsbook-load')
    expect(Date.now() - Date.parse(canary.at)).toBeLessThan(30_000)
    // Nothing is written after stop.
    const before = await c.get('opsbook:canary')
    await c.ping()
    expect(await c.get('opsbook:canary')).toBe(before)
    expect(load.written()).toBe(stoppedAt)
  })

  it('rejects what is not an RDB file, and a truncated one, with the reason', async () => {
    expect(() => readRdb(Buffer.from('REDIS0011\n{"json": true}'))).toThrow(RdbFormatError)
    const rdb = await engine.snapshot()
    expect(() => readRdb(rdb.subarray(0, rdb.length - 12))).toThrow(/truncated|ends/)
    expect(() => readRdb(Buffer.from('hello'))).toThrow(/not an RDB/)
  })
})

describe('timestampOf', () => {
  it('reads ISO, epoch seconds and milliseconds, and JSON at/ts fields', () => {
    expect(timestampOf('2026-12-02T06:00:00Z')?.toISOString()).toBe('2026-12-02T06:00:00.000Z')
    expect(timestampOf('1796191200')?.toISOString()).toBe('2026-12-02T06:00:00.000Z')
    expect(timestampOf('1796191200000')?.toISOString()).toBe('2026-12-02T06:00:00.000Z')
    expect(timestampOf('{"ts": 1796191200000}')?.toISOString()).toBe('2026-12-02T06:00:00.000Z')
    expect(timestampOf('not a time')).toBeUndefined()
  })
})

describe.skipIf(!binary)('RedisEngine start', () => {
  it('starts again on other ports when another process took its port first ("Address already in use")', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-redis-engine-'))
    // Another process holds a port; the first start is sent to it (the race between picking a free port and
    // redis-server binding it), later starts run the real redis-server unchanged.
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const held = (holder.address() as {port: number}).port
    const starts = join(dir, 'starts')
    const wrapper = join(dir, 'redis-server')
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `echo start >> '${starts}'`,
        `if [ "$(wc -l < '${starts}')" -eq 1 ]; then first=1; fi`,
        'n=$#; prev=""',
        'for a in "$@"; do',
        `  if [ -n "$first" ] && [ "$prev" = "--port" ]; then set -- "$@" ${held}; else set -- "$@" "$a"; fi`,
        '  prev="$a"',
        'done',
        'shift $n',
        `exec '${binary}' "$@"`,
        '',
      ].join('\n'),
    )
    chmodSync(wrapper, 0o755)
    const engine = new RedisEngine({binary: wrapper, dir: join(dir, 'cache'), certificate: await loadOrCreateCertificate(join(dir, 'certs'))})
    try {
      expect(await (await engine.client()).ping()).toBe('PONG')
      expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(2)
      expect(await engine.plainPort()).not.toBe(held)
    } finally {
      await engine.stop()
      holder.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe.skipIf(!binary)('RedisEngine under a file-size limit (ulimit -f)', () => {
  // Issue 16: a CLI under a tiny `ulimit -f` with its in-process emulator hung, or ended "Connection is closed".
  // redis-server inherits the limit and SIGXFSZ kills it mid-SAVE: the SAVE failed with ioredis's bare "Connection is
  // closed", and stop() waited for ever for an 'exit' that had already happened (a process killed by a signal has
  // exitCode null, signalCode set: it was taken for running).
  it('says the limit killed redis-server, and stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-redis-engine-'))
    const wrapper = join(dir, 'redis-server')
    writeFileSync(wrapper, ['#!/bin/sh', 'ulimit -f 8', `exec '${binary}' "$@"`, ''].join('\n'))
    chmodSync(wrapper, 0o755)
    const engine = new RedisEngine({binary: wrapper, dir: join(dir, 'cache'), certificate: await loadOrCreateCertificate(join(dir, 'certs'))})
    try {
      const c = await engine.client()
      await c.set('big', randomBytes(30_000).toString('base64'))
      const error = await engine.snapshot().then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(error?.message).toMatch(/redis-server .*SIGXFSZ.*file-size limit \(ulimit -f\)/)
      expect(engine.running).toBe(false)
    } finally {
      await engine.stop()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
