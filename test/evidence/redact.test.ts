import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Redactor, REDACTED, replaceForms} from '../../src/evidence/redact.js'

// Realistic shapes, not real credentials.
// Same shapes as Azure's: 64 random bytes for a storage key, 32 for a Redis key, in base64.
const storageKey = Buffer.from(Array.from({length: 64}, (_, i) => (i * 37 + 11) % 256)).toString('base64')
const redisKey = Buffer.from(Array.from({length: 32}, (_, i) => (i * 53 + 7) % 256)).toString('base64')
const jwt =
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6ImtXYmthYTZxczh3c1RuQndpaU5ZT2hIYm5BdyJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyIsIm9pZCI6IjEyMyJ9.dGhpc2lzbm90YXJlYWxzaWduYXR1cmVidXRsb29rc2xpa2VvbmU'
const sasQuery = 'sv=2022-11-02&ss=b&srt=sco&sp=rwdlacupiytfx&se=2026-11-24T00:00:00Z&st=2026-11-23T15:00:00Z&spr=https&sig=Zm9vYmFyYmF6cXV4dGhpc2lzYXNpZ25hdHVyZQ%3D%3D'

describe('Redactor', () => {
  const redactor = new Redactor()

  it('removes a whole SAS query string and keeps the blob URL readable', () => {
    const url = `https://stshopsnapshots.blob.core.windows.net/redis-snapshots/2026-11-23/sessions.rdb?${sasQuery}`
    expect(redactor.redactText(`exporting to ${url} now`)).toBe(
      `exporting to https://stshopsnapshots.blob.core.windows.net/redis-snapshots/2026-11-23/sessions.rdb?${REDACTED} now`,
    )
  })

  it('removes a bare SAS token and a lone sig= parameter', () => {
    expect(redactor.redactText(`token: ${sasQuery}`)).toBe(`token: ${REDACTED}`)
    expect(redactor.redactText('https://x.blob.core.windows.net/c/b?comp=block&sig=abcDEF%2B123')).not.toContain('abcDEF')
  })

  it('removes storage account keys in connection strings and on their own', () => {
    expect(storageKey).toHaveLength(88)
    const connection = `DefaultEndpointsProtocol=https;AccountName=stshopevidence;AccountKey=${storageKey};EndpointSuffix=core.windows.net`
    expect(redactor.redactText(connection)).toBe(
      `DefaultEndpointsProtocol=https;AccountName=stshopevidence;AccountKey=${REDACTED};EndpointSuffix=core.windows.net`,
    )
    expect(redactor.redactText(JSON.stringify({keys: [{keyName: 'key1', value: storageKey, permissions: 'FULL'}]}))).toBe(
      JSON.stringify({keys: [{keyName: 'key1', value: REDACTED, permissions: 'FULL'}]}),
    )
  })

  it('removes Redis access keys (44-character base64)', () => {
    expect(redactor.redactText(`primaryKey=${redisKey}`)).not.toContain(redisKey)
    // A password may contain commas, so the rest of a StackExchange.Redis string goes too: over-redaction is the safe side.
    expect(redactor.redactText(`redis-shop-sessions.redis.cache.windows.net:6380,password=${redisKey},ssl=True`)).toBe(
      `redis-shop-sessions.redis.cache.windows.net:6380,password=${REDACTED}`,
    )
    expect(redactor.redactText(`key ${redisKey} rotated`)).toBe(`key ${REDACTED} rotated`)
  })

  it('removes connection-string and URL passwords', () => {
    expect(redactor.redactText('Server=pg-shop-orders.postgres.database.azure.com;Database=orders;User Id=opsbook;Password=Tr0ub4dor&3;Ssl Mode=Require;')).toBe(
      `Server=pg-shop-orders.postgres.database.azure.com;Database=orders;User Id=opsbook;Password=${REDACTED};Ssl Mode=Require;`,
    )
    expect(redactor.redactText('host=pg port=5432 dbname=orders user=opsbook password=hunter22')).toBe(`host=pg port=5432 dbname=orders user=opsbook password=${REDACTED}`)
    expect(redactor.redactText('postgres://opsbook:S3cret!x@pg-shop-orders.postgres.database.azure.com:5432/orders')).toBe(
      `postgres://opsbook:${REDACTED}@pg-shop-orders.postgres.database.azure.com:5432/orders`,
    )
  })

  it('removes bearer tokens and bare JWTs', () => {
    expect(redactor.redactText(`Authorization: Bearer ${jwt}`)).toBe(`Authorization: Bearer ${REDACTED}`)
    expect(redactor.redactText(`token ${jwt} expired`)).toBe(`token ${REDACTED} expired`)
  })

  it('removes x-ms-* key headers', () => {
    expect(redactor.redactText(`x-ms-encryption-key: ${redisKey}`)).toBe(`x-ms-encryption-key: ${REDACTED}`)
    expect(redactor.redactText('"x-ms-copy-source-authorization":"Bearer abc.def"')).not.toContain('abc.def')
  })

  it('replaces registered secrets, including their URL-encoded form', () => {
    const own = new Redactor()
    own.add('p@ss w0rd/+')
    expect(own.redactText('login with p@ss w0rd/+ or p%40ss%20w0rd%2F%2B')).toBe(`login with ${REDACTED} or ${REDACTED}`)
    own.add('ab')
    expect(own.redactText('about tabs')).toBe('about tabs')
  })

  it('redacts deeply into a copy, replacing values under sensitive keys whatever they look like', () => {
    const own = new Redactor()
    own.add('orders-admin-pw')
    const value = {
      server: 'pg-shop-orders',
      login: {user: 'opsbook', password: 'short1', note: 'pw is orders-admin-pw'},
      attempts: 3,
      ok: true,
      list: ['orders-admin-pw', null],
      connectionString: 'anything at all',
    }
    const redacted = own.redact(value)
    expect(redacted).toEqual({
      server: 'pg-shop-orders',
      login: {user: 'opsbook', password: REDACTED, note: `pw is ${REDACTED}`},
      attempts: 3,
      ok: true,
      list: [REDACTED, null],
      connectionString: REDACTED,
    })
    expect(value.login.password).toBe('short1')
  })

  it('leaves ordinary operational text alone', () => {
    const text = [
      '/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop-local/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-shop-orders',
      'restore to 2026-11-23T15:30:00Z took PT12M',
      'prev 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'GET https://app-shop-storefront-staging.azurewebsites.net/health?probe=1: 200',
    ].join('\n')
    expect(redactor.redactText(text)).toBe(text)
  })

  // Issue 16, item 4: shapes the first rules missed.
  it('removes lowercase bearer tokens, quoted passwords with ; and passwords with a space or an apostrophe', () => {
    expect(redactor.redactText(`authorization: bearer ${jwt.slice(0, 40)}`)).toBe(`authorization: bearer ${REDACTED}`)
    expect(redactor.redactText('curl -H "authorization: bearer abc123DEF456ghi789"')).toBe(`curl -H "authorization: bearer ${REDACTED}"`)
    expect(redactor.redactText('Host=pg;Password="a;b";Database=orders')).toBe(`Host=pg;Password=${REDACTED};Database=orders`)
    expect(redactor.redactText("Host=pg;Password='it''s;x';Database=orders")).toBe(`Host=pg;Password=${REDACTED};Database=orders`)
    expect(redactor.redactText('Host=pg;Password=correct horse battery;Database=orders')).toBe(`Host=pg;Password=${REDACTED};Database=orders`)
    expect(redactor.redactText("Server=pg;Pwd=it's-mine;")).toBe(`Server=pg;Pwd=${REDACTED};`)
    // The same strings inside serialised JSON (a request body in an error message).
    const json = JSON.stringify({conn: 'Host=pg;Password="a;b c";Database=orders'})
    expect(redactor.redactText(json)).not.toMatch(/a;b c/)
    // Prose stays readable.
    expect(redactor.redactText('the basic tier has no bearer token')).toBe('the basic tier has no bearer token')
    expect(redactor.redactText('Redis is not on the Basic tier; Basic authentication is off')).toBe('Redis is not on the Basic tier; Basic authentication is off')
    expect(redactor.redactText('Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe(`Authorization: Basic ${REDACTED}`)
    expect(redactor.redactText('Authorization: SharedKey stshop:c2lnbmF0dXJl')).toBe(`Authorization: SharedKey ${REDACTED}`)
  })

  it('catches a registered secret in every spelling a file or report gives it', () => {
    const own = new Redactor()
    const secret = `Kx7Qp2Vz"Lm9\\Wq4'Rt8 Yh3;Nb6&Jd5%<Fg1|Zc0`
    own.add(secret)
    const nestedJson = JSON.stringify(JSON.stringify(JSON.stringify(secret)))
    const spellings = [
      secret,
      nestedJson,
      encodeURIComponent(secret),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
      secret.replace(/\|/g, '\\|'),
      secret.replace(/"/g, '""'),
    ]
    for (const spelling of spellings) {
      const out = own.redactText(`before ${spelling} after`)
      expect(out, spelling).not.toContain('Kx7Qp2Vz')
      expect(out.startsWith('before ') && out.endsWith(' after'), spelling).toBe(true)
    }
  })

  it('catches a registered secret as new URL() spells it in a path, query, fragment, password or form', () => {
    const secret = `Kx7Qp2 Vz|Lm9\\Wq4^Ab\`Cd'e&f{g}ä`
    const redactor = new Redactor()
    redactor.add(secret)
    const urls = [new URL(`http://h/p/${secret}`), new URL(`http://h/?q=${secret}`), new URL(`foo://h/p/${secret}`), new URL(`http://h/#${secret}`)]
    const spellings = [...urls.flatMap((u) => [u.href, u.pathname, u.search, u.hash]), `?${new URLSearchParams({q: secret})}`]
    for (const spelling of spellings) expect(redactor.redactText(`GET ${spelling}: 404`), spelling).not.toMatch(/Kx7Qp2|Lm9|Wq4/)
  })

  // Found by adversary8: the SAS rule was one regex, (?:\b[a-z]{1,6}=Q*&)*\bsig=…, which tried every start of a long
  // `a=b&a=b&…` run to its end: a 256 KB one (an http.check body, now redacted before it is cut) took 44 s of CPU,
  // holding the event loop. Found from each sig= outwards it is linear: milliseconds (a bound 100× above them).
  it('redacts a long key=value run in linear time, and still whole SAS query strings', () => {
    const started = performance.now()
    const long = `${'a=b&'.repeat(65_536)}x`
    expect(redactor.redactText(long)).toBe(long)
    expect(redactor.redactText(`${'a=b&'.repeat(65_536)}sig=secretvalue`)).toBe(REDACTED)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(redactor.redactText(`see https://x.blob.core.windows.net/c/b?${sasQuery}&x=1 and ?sp=r&sig=two&se=3 "sig=three"`)).toBe(
      `see https://x.blob.core.windows.net/c/b?${REDACTED} and ?${REDACTED} "${REDACTED}"`,
    )
  })

  it('removes Azure Functions access keys from a URL\'s code parameter and the x-functions-key header', () => {
    const key = 'aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1f=='
    expect(redactor.redactText(`GET https://fn.azurewebsites.net/api/health?code=${key}&x=1 failed`)).toBe(`GET https://fn.azurewebsites.net/api/health?code=${REDACTED}&x=1 failed`)
    expect(redactor.redactText(`x-functions-key: ${key}`)).toBe(`x-functions-key: ${REDACTED}`)
    expect(redactor.redact({'x-functions-key': 'short1'})).toEqual({'x-functions-key': REDACTED})
    expect(redactor.redactText('GET /api/items?code=200 answered')).toBe('GET /api/items?code=200 answered')
  })

  it('replaces string values under any key ending in password, secret, token, account/access/api key or connection string', () => {
    const value = {adminPassword: 'CorrectHorse9', db_password: 'BatteryStaple7', storageAccountKey: 'k1k2k3k4', githubToken: 'gh-abc1', passwordAuth: 'Enabled', secretName: 'db-admin'}
    expect(redactor.redact(value)).toEqual({adminPassword: REDACTED, db_password: REDACTED, storageAccountKey: REDACTED, githubToken: REDACTED, passwordAuth: 'Enabled', secretName: 'db-admin'})
    expect(redactor.holdsSecret({params: {adminPassword: 'CorrectHorse9'}})).toBe(true)
  })

  // Registered secrets are replaced by a scan (replaceForms) that must give what the one regex of them did,
  // `/form1|form2|…/g` longest first: forms cut from one word (so they nest and overlap), in a text made of them.
  it('replaces registered forms exactly as one alternation regex of them, longest first, would', () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const letters = fc.constantFrom('a', 'b', '.', '|')
    const cases = fc
      .tuple(fc.string({unit: letters, minLength: 8, maxLength: 12}), fc.array(fc.tuple(fc.nat(8), fc.integer({min: 4, max: 8})), {minLength: 1, maxLength: 6}))
      .chain(([word, cuts]) => {
        const forms = [...new Set(cuts.map(([start, length]) => word.slice(start, start + length)).filter((form) => form.length >= 4))]
        const piece = forms.length > 0 ? fc.oneof(fc.constantFrom(...forms), letters, fc.constantFrom(...forms).map((f) => f.slice(1))) : letters
        return fc.tuple(fc.constant(forms), fc.array(piece, {maxLength: 8}).map((pieces) => pieces.join('')))
      })
    fc.assert(
      fc.property(cases, ([registered, text]) => {
        const forms = [...registered].sort((a, b) => b.length - a.length)
        const expected = forms.length > 0 ? text.replace(new RegExp(forms.map(escape).join('|'), 'g'), REDACTED) : text
        expect(replaceForms(text, forms)).toBe(expected)
      }),
      {numRuns: 200},
    )
    const secrets = new Redactor()
    secrets.add('abcdefgh')
    secrets.add('cdef', {derived: true})
    expect(secrets.redactText('xabcdefghy cdef abcdef', {shapes: false})).toBe(`x${REDACTED}y ${REDACTED} ab${REDACTED}`)
    expect(secrets.holdsSecret('..cdef..')).toBe(true)
    expect(secrets.holdsRegisteredSecret({note: '..cdef..'})).toBe(false)
    expect(secrets.holdsRegisteredSecret({note: '..abcdefgh..'})).toBe(true)
  })
})
