/**
 * A reader for Redis RDB files (versions 1–11: Redis up to 7.2, which Azure Cache for Redis exports): it walks the
 * file once, counts the keys per type and database, and returns the values of the string keys asked for (e.g. a
 * canary key holding a timestamp). Values of other types are skipped, not decoded.
 *
 * Why our own: no maintained npm RDB parser exists (checked 2026-12: `rdb-parser`, `redis-rdb-parser` and
 * `rdb-tools` are not on the registry; the older parsers stop at RDB v9 and are unmaintained). The format is Redis'
 * own, documented in its source (rdb.h / rdb.c: opcodes 0xF5–0xFF, length encoding, object types 0–21).
 * Module values (types 6 and 7) cannot be skipped without the module, so the reader stops there and says so.
 */

export interface RdbSummary {
  /** RDB format version from the header (Redis 7.0 writes 10). */
  version: number
  /** Auxiliary fields: redis-ver, ctime (seconds since the epoch when the file was written), used-mem, … */
  aux: Record<string, string>
  /** Keys in the file, all databases. */
  keyCount: number
  /** Keys per database number. */
  keysByDb: Record<number, number>
  /** Keys per object type (string, list, set, zset, hash, stream). */
  keysByType: Record<string, number>
  /** Keys with an expiry. */
  expiring: number
  /** The string values of the keys asked for that the file holds (keys of another type are listed in `notString`). */
  values: Record<string, string>
  notString: string[]
  /** When the file says it was written (aux ctime), ISO; undefined when absent. */
  createdAt?: string
}

export class RdbFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RdbFormatError'
  }
}

const TYPE_NAMES: Record<number, string> = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset',
  9: 'hash',
  10: 'list',
  11: 'set',
  12: 'zset',
  13: 'hash',
  14: 'list',
  15: 'stream',
  16: 'hash',
  17: 'zset',
  18: 'list',
  19: 'stream',
  20: 'set',
  21: 'stream',
}

/** Read an RDB file. `wanted`: keys whose string values to return. Throws RdbFormatError when it is not a valid RDB. */
export function readRdb(data: Buffer, wanted: Iterable<string> = []): RdbSummary {
  if (data.length < 9 || data.toString('latin1', 0, 5) !== 'REDIS') throw new RdbFormatError('not an RDB file (no REDIS magic)')
  const version = Number(data.toString('latin1', 5, 9))
  if (!Number.isInteger(version) || version < 1) throw new RdbFormatError(`unreadable RDB version "${data.toString('latin1', 5, 9)}"`)
  if (version > 11) throw new RdbFormatError(`RDB version ${version} is newer than this reader knows (up to 11, Redis 7.2)`)
  const want = new Set(wanted)
  const reader = new Reader(data, 9)
  const summary: RdbSummary = {version, aux: {}, keyCount: 0, keysByDb: {}, keysByType: {}, expiring: 0, values: {}, notString: []}
  let db = 0
  let expires = false
  for (;;) {
    if (reader.done()) throw new RdbFormatError('the file ends before its EOF marker (truncated?)')
    const op = reader.byte()
    switch (op) {
      case 0xff:
        if (summary.aux.ctime && /^\d+$/.test(summary.aux.ctime)) summary.createdAt = new Date(Number(summary.aux.ctime) * 1000).toISOString()
        return summary
      case 0xfa: {
        const key = reader.string().toString('utf8')
        summary.aux[key] = reader.string().toString('utf8')
        continue
      }
      case 0xfe:
        db = reader.length()
        continue
      case 0xfb:
        reader.length()
        reader.length()
        continue
      case 0xfc:
        reader.skip(8)
        expires = true
        continue
      case 0xfd:
        reader.skip(4)
        expires = true
        continue
      case 0xf8:
        reader.length()
        continue
      case 0xf7:
        reader.skip(1)
        continue
      case 0xf5:
        // FUNCTION2 (Redis 7): a library's source as one string.
        reader.string()
        continue
      case 0xf6:
        // FUNCTION (7.0 release candidates): name, engine, optional description, code.
        reader.string()
        reader.string()
        if (reader.byte()) reader.string()
        reader.string()
        continue
      case 0xf9:
        throw new RdbFormatError('the file holds module data (MODULE_AUX), which cannot be read without the module')
      default:
        break
    }
    const type = op
    const typeName = TYPE_NAMES[type]
    if (!typeName) throw new RdbFormatError(type === 6 || type === 7 ? 'the file holds a module value, which cannot be read without the module' : `unknown RDB object type ${type} at byte ${reader.offset - 1}`)
    const key = reader.string().toString('utf8')
    summary.keyCount++
    summary.keysByDb[db] = (summary.keysByDb[db] ?? 0) + 1
    summary.keysByType[typeName] = (summary.keysByType[typeName] ?? 0) + 1
    if (expires) summary.expiring++
    expires = false
    if (type === 0) {
      const value = reader.string()
      if (want.has(key)) summary.values[key] = value.toString('utf8')
      continue
    }
    if (want.has(key)) summary.notString.push(key)
    skipValue(reader, type, version)
  }
}

function skipValue(reader: Reader, type: number, version: number): void {
  switch (type) {
    case 1:
    case 2:
    case 14:
      for (let n = reader.length(); n > 0; n--) reader.string()
      return
    case 3:
      for (let n = reader.length(); n > 0; n--) {
        reader.string()
        const len = reader.byte()
        if (len < 253) reader.skip(len) // 253-255: NaN, +inf, -inf with no bytes
      }
      return
    case 4:
      for (let n = reader.length() * 2; n > 0; n--) reader.string()
      return
    case 5:
      for (let n = reader.length(); n > 0; n--) {
        reader.string()
        reader.skip(8)
      }
      return
    case 18:
      for (let n = reader.length(); n > 0; n--) {
        reader.length() // container: plain or packed
        reader.string()
      }
      return
    case 15:
    case 19:
    case 21:
      skipStream(reader, type)
      return
    default:
      // Encoded single blobs: zipmap, ziplist, intset, listpack (types 9-13, 16, 17, 20).
      reader.string()
      void version
  }
}

/** Streams (rdb.c rdbLoadObject, RDB_TYPE_STREAM_LISTPACKS*): listpacks, metadata, consumer groups with their PELs. */
function skipStream(reader: Reader, type: number): void {
  for (let n = reader.length(); n > 0; n--) {
    reader.string() // master id
    reader.string() // listpack
  }
  reader.length() // length
  reader.length() // last id ms
  reader.length() // last id seq
  if (type >= 19) for (let i = 0; i < 5; i++) reader.length() // first id, max deleted id, entries added
  for (let groups = reader.length(); groups > 0; groups--) {
    reader.string() // name
    reader.length()
    reader.length()
    if (type >= 19) reader.length() // entries read
    for (let pel = reader.length(); pel > 0; pel--) {
      reader.skip(16 + 8) // raw id, delivery time
      reader.length() // delivery count
    }
    for (let consumers = reader.length(); consumers > 0; consumers--) {
      reader.string() // name
      reader.skip(8) // seen time
      if (type >= 21) reader.skip(8) // active time
      for (let pel = reader.length(); pel > 0; pel--) reader.skip(16)
    }
  }
}

class Reader {
  constructor(
    private readonly data: Buffer,
    public offset: number,
  ) {}

  done(): boolean {
    return this.offset >= this.data.length
  }

  byte(): number {
    this.need(1)
    return this.data[this.offset++]!
  }

  skip(n: number): void {
    this.need(n)
    this.offset += n
  }

  private need(n: number): void {
    if (this.offset + n > this.data.length) throw new RdbFormatError('the file ends in the middle of a value (truncated?)')
  }

  /** A length; encoded integers and compressed strings are handled by string(). */
  length(): number {
    const encoded = this.lengthOrEncoding()
    if (encoded.encoding !== undefined) throw new RdbFormatError(`unexpected string encoding where a length belongs (byte ${this.offset})`)
    return encoded.length
  }

  private lengthOrEncoding(): {length: number; encoding?: number} {
    const first = this.byte()
    switch (first >> 6) {
      case 0:
        return {length: first & 0x3f}
      case 1:
        return {length: ((first & 0x3f) << 8) | this.byte()}
      case 2: {
        if (first === 0x80) {
          this.need(4)
          const value = this.data.readUInt32BE(this.offset)
          this.offset += 4
          return {length: value}
        }
        if (first === 0x81) {
          this.need(8)
          const value = this.data.readBigUInt64BE(this.offset)
          this.offset += 8
          if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbFormatError('a length larger than this reader can address')
          return {length: Number(value)}
        }
        throw new RdbFormatError(`invalid length encoding 0x${first.toString(16)} at byte ${this.offset - 1}`)
      }
      default:
        return {length: 0, encoding: first & 0x3f}
    }
  }

  string(): Buffer {
    const {length, encoding} = this.lengthOrEncoding()
    if (encoding === undefined) {
      this.need(length)
      const out = this.data.subarray(this.offset, this.offset + length)
      this.offset += length
      return out
    }
    switch (encoding) {
      case 0:
        this.need(1)
        return Buffer.from(String(this.data.readInt8(this.offset++)))
      case 1: {
        this.need(2)
        const value = this.data.readInt16LE(this.offset)
        this.offset += 2
        return Buffer.from(String(value))
      }
      case 2: {
        this.need(4)
        const value = this.data.readInt32LE(this.offset)
        this.offset += 4
        return Buffer.from(String(value))
      }
      case 3: {
        const compressed = this.length()
        const plain = this.length()
        this.need(compressed)
        const out = lzfDecompress(this.data.subarray(this.offset, this.offset + compressed), plain)
        this.offset += compressed
        return out
      }
      default:
        throw new RdbFormatError(`unknown string encoding ${encoding} at byte ${this.offset - 1}`)
    }
  }
}

/** LZF (liblzf lzf_d.c), which Redis uses for strings over 20 bytes when rdbcompression is on. */
export function lzfDecompress(input: Buffer, outputLength: number): Buffer {
  const out = Buffer.alloc(outputLength)
  let ip = 0
  let op = 0
  while (ip < input.length) {
    let ctrl = input[ip++]!
    if (ctrl < 32) {
      ctrl++
      if (op + ctrl > outputLength || ip + ctrl > input.length) throw new RdbFormatError('corrupt LZF data')
      input.copy(out, op, ip, ip + ctrl)
      ip += ctrl
      op += ctrl
    } else {
      let len = ctrl >> 5
      if (len === 7) len += input[ip++]!
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!
      len += 2
      if (ref < 0 || op + len > outputLength) throw new RdbFormatError('corrupt LZF data')
      while (len-- > 0) out[op++] = out[ref++]!
    }
  }
  if (op !== outputLength) throw new RdbFormatError('corrupt LZF data (length mismatch)')
  return out
}

/**
 * A timestamp written into a key: an ISO-8601 string, epoch milliseconds or seconds, or JSON with an `at`, `ts` or
 * `time` field holding one of those. Undefined when the value is none of them.
 */
export function timestampOf(value: string): Date | undefined {
  const text = value.trim()
  if (/^\d{9,10}(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000)
  if (/^\d{12,14}$/.test(text)) return new Date(Number(text))
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>
      for (const field of ['at', 'ts', 'time']) {
        const inner = parsed[field]
        if (typeof inner === 'string' || typeof inner === 'number') return timestampOf(String(inner))
      }
    } catch {
      return undefined
    }
    return undefined
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text))) return new Date(text)
  return undefined
}

/** Keys over all databases from an `INFO keyspace` reply (`db0:keys=12,expires=0,…`). */
export function keyspaceCount(info: string): number {
  let total = 0
  for (const match of info.matchAll(/^db\d+:keys=(\d+)/gm)) total += Number(match[1])
  return total
}
