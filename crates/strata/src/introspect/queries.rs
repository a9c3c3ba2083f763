//! The catalog queries: one per object kind, each over every managed schema at once.
//!
//! Every query starts from the `managed` CTE (the schemas to read: `$1`, or every user schema
//! when `$1` is NULL), leaves out objects that belong to extensions, and returns its rows as one
//! JSON array, so that the number of round trips and statements is fixed whatever the size of
//! the schema. They run with `search_path = pg_catalog`, so PostgreSQL's deparsers qualify every
//! user object.
//!
//! The queries work on PostgreSQL 13 to 18. Columns that not every version has are read through
//! `to_jsonb(row)`, which yields NULL for a missing column.

/// The managed schemas: `$1::text[]`, or every schema that is not a system or extension schema.
const MANAGED: &str = "
WITH managed AS (
  SELECT n.oid, n.nspname
  FROM pg_namespace n
  WHERE CASE WHEN $1::text[] IS NULL
             THEN n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
             ELSE n.nspname = ANY($1::text[]) END
    AND NOT EXISTS (SELECT 1 FROM pg_depend e
                    WHERE e.classid = 'pg_namespace'::regclass AND e.objid = n.oid AND e.deptype = 'e')
)";

/// `NOT EXISTS` clause: the object `(classid, objid)` is not an extension member.
fn not_extension_member(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// JSON `{granted, revoked}`: the privileges in `acl` relative to `default_acl`, the owner's own
/// left out. A NULL `acl` means the defaults.
fn privileges(acl: &str, default_acl: &str, owner: &str) -> String {
    format!(
        "CASE WHEN {acl} IS NULL THEN json_build_object('granted', '[]'::json, 'revoked', '[]'::json) ELSE (
           SELECT json_build_object(
             'granted', coalesce(json_agg(pgr.item ORDER BY pgr.grantee, pgr.privilege, pgr.grantable) FILTER (WHERE pgr.side = 'granted'), '[]'),
             'revoked', coalesce(json_agg(pgr.item ORDER BY pgr.grantee, pgr.privilege, pgr.grantable) FILTER (WHERE pgr.side = 'revoked'), '[]'))
           FROM (
             SELECT px.side, px.grantee, px.privilege, px.grantable,
                    json_build_object('grantee', px.grantee, 'privilege', px.privilege, 'grantable', px.grantable) AS item
             FROM (
               SELECT 'granted' AS side, pa.grantee AS role, pa.privilege_type AS privilege, pa.is_grantable AS grantable,
                      CASE WHEN pa.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(pa.grantee)::text END AS grantee
               FROM aclexplode({acl}) pa
               WHERE (pa.grantee, pa.privilege_type, pa.is_grantable) NOT IN
                     (SELECT pd.grantee, pd.privilege_type, pd.is_grantable FROM aclexplode({default_acl}) pd)
               UNION ALL
               SELECT 'revoked', pd.grantee, pd.privilege_type, pd.is_grantable,
                      CASE WHEN pd.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(pd.grantee)::text END
               FROM aclexplode({default_acl}) pd
               WHERE (pd.grantee, pd.privilege_type, pd.is_grantable) NOT IN
                     (SELECT pa.grantee, pa.privilege_type, pa.is_grantable FROM aclexplode({acl}) pa)
             ) px
             WHERE px.role <> {owner}
           ) pgr)
         END"
    )
}

/// Privileges of an object of `kind` (an `acldefault` letter) with ACL column `acl`.
fn object_privileges(acl: &str, kind: char, owner: &str) -> String {
    privileges(acl, &format!("acldefault('{kind}', {owner})"), owner)
}

/// The foreign servers (`s`) a catalog holds: those a managed foreign table uses, and those no
/// foreign table uses.
const SERVER_READ: &str =
    "(EXISTS (SELECT 1 FROM pg_foreign_table ft JOIN pg_class fc ON fc.oid = ft.ftrelid
                         JOIN managed fm ON fm.oid = fc.relnamespace WHERE ft.ftserver = s.oid)
         OR NOT EXISTS (SELECT 1 FROM pg_foreign_table ft WHERE ft.ftserver = s.oid))";

/// A storage mode letter as `SET STORAGE` spells it.
fn storage_word(letter: &str) -> String {
    format!(
        "CASE {letter} WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END"
    )
}

fn json_rows(select: &str) -> String {
    format!("{MANAGED}\nSELECT coalesce(json_agg(q), '[]')::text FROM (\n{select}\n) q")
}

/// Several kinds of rows in one request: a JSON object with one array per kind.
fn json_object_of_rows(parts: &[(&str, String)]) -> String {
    let fields: Vec<String> = parts
        .iter()
        .map(|(key, select)| {
            format!("'{key}', (SELECT coalesce(json_agg(q), '[]') FROM (\n{select}\n) q)")
        })
        .collect();
    format!(
        "{MANAGED}\nSELECT json_build_object(\n{}\n)::text",
        fields.join(",\n")
    )
}

/// The census: every kind of object that can live in a managed schema (or, for event
/// triggers, in the database) and that the catalog does not model, with the query listing
/// them. This one list is the census `inspect` prints, the warnings of the other commands and
/// the kinds `ignore` in `strata.toml` accepts: a kind is either modelled or listed here.
///
/// Each query yields `name` (schema-qualified where the object has a schema), `classid` and
/// `objid` (to leave out extension members), and may use the `managed` CTE.
pub const CENSUS: &[(&str, &str)] = &[
    (
        "base type",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(t.typname), 'pg_type'::regclass, t.oid
         FROM managed m JOIN pg_type t ON t.typnamespace = m.oid
         WHERE t.typtype = 'b'
           AND NOT (t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid))",
    ),
    (
        "shell type",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(t.typname), 'pg_type'::regclass, t.oid
         FROM managed m JOIN pg_type t ON t.typnamespace = m.oid WHERE t.typtype = 'p'",
    ),
    (
        "operator class",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.opcname), 'pg_opclass'::regclass, o.oid
         FROM managed m JOIN pg_opclass o ON o.opcnamespace = m.oid",
    ),
    (
        "operator family",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.opfname), 'pg_opfamily'::regclass, o.oid
         FROM managed m JOIN pg_opfamily o ON o.opfnamespace = m.oid",
    ),
    (
        "conversion",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.conname), 'pg_conversion'::regclass, o.oid
         FROM managed m JOIN pg_conversion o ON o.connamespace = m.oid",
    ),
    (
        "text search configuration",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.cfgname), 'pg_ts_config'::regclass, o.oid
         FROM managed m JOIN pg_ts_config o ON o.cfgnamespace = m.oid",
    ),
    (
        "text search dictionary",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.dictname), 'pg_ts_dict'::regclass, o.oid
         FROM managed m JOIN pg_ts_dict o ON o.dictnamespace = m.oid",
    ),
    (
        "text search parser",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.prsname), 'pg_ts_parser'::regclass, o.oid
         FROM managed m JOIN pg_ts_parser o ON o.prsnamespace = m.oid",
    ),
    (
        "text search template",
        "SELECT quote_ident(m.nspname) || '.' || quote_ident(o.tmplname), 'pg_ts_template'::regclass, o.oid
         FROM managed m JOIN pg_ts_template o ON o.tmplnamespace = m.oid",
    ),
    (
        "event trigger",
        "SELECT quote_ident(o.evtname), 'pg_event_trigger'::regclass, o.oid FROM pg_event_trigger o",
    ),
    (
        // Logical replication of the managed tables.
        "publication",
        "SELECT quote_ident(p.pubname), 'pg_publication'::regclass, p.oid FROM pg_publication p
         WHERE p.puballtables
            OR EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid
                       JOIN managed m ON m.oid = c.relnamespace WHERE r.prpubid = p.oid)",
    ),
];

/// The census query: [`CENSUS`] as one list of `{kind, name}`, sorted, without extension
/// members.
fn census() -> String {
    let parts: Vec<String> = CENSUS
        .iter()
        .map(|(kind, select)| {
            format!(
                "SELECT '{kind}' AS kind, x.name, x.classid, x.objid FROM ({select}) x(name, classid, objid)"
            )
        })
        .collect();
    json_rows(&format!(
        "SELECT c.kind, c.name FROM (\n{}\n) c
         WHERE NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = c.classid AND e.objid = c.objid AND e.deptype = 'e')
         ORDER BY c.kind, c.name",
        parts.join("\nUNION ALL\n")
    ))
}

/// The text of each catalog query, in the order [`super::introspect`] runs them.
pub(super) struct Queries {
    pub schemas: String,
    pub extensions: String,
    pub relations: String,
    pub columns: String,
    pub constraints: String,
    pub indexes: String,
    pub triggers: String,
    pub policies: String,
    pub sequences: String,
    pub types: String,
    pub functions: String,
    pub default_privileges: String,
    pub dependencies: String,
    pub objects: String,
    pub unmodeled: String,
}

impl Queries {
    /// The queries for a server of `server_version` (`server_version_num`), 13 and up.
    pub(super) fn new(server_version: u32) -> Queries {
        // `attcompression` is PostgreSQL 14's; `to_jsonb(a)` would read it on 13 too, at the
        // cost of a JSON object per column of the schema.
        let compression = if server_version >= 140_000 {
            "CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END"
        } else {
            "NULL::text"
        };
        Queries {
            schemas: json_rows(&format!(
                "SELECT n.nspname AS name, ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_namespace n ON n.oid = m.oid
                 LEFT JOIN pg_description ds ON ds.objoid = n.oid AND ds.classoid = 'pg_namespace'::regclass AND ds.objsubid = 0",
                privileges = object_privileges("n.nspacl", 'n', "n.nspowner"),
            )),

            extensions: json_rows(&format!(
                "SELECT x.extname AS name, n.nspname AS schema, x.extversion AS version,
                        ds.description AS comment,
                        (SELECT a.comment FROM pg_available_extensions a WHERE a.name = x.extname) AS installed_comment,
                        coalesce((SELECT json_object_agg(mp.target, mp.privileges) FROM (
                           SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END
                                    || p.oid::regprocedure::text AS target,
                                  {function_privileges} AS privileges
                           FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
                           LEFT JOIN pg_init_privs ip ON ip.classoid = 'pg_proc'::regclass AND ip.objoid = p.oid AND ip.objsubid = 0
                           WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
                             AND d.refobjid = x.oid AND d.deptype = 'e' AND p.proacl IS NOT NULL
                           UNION ALL
                           SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || c.oid::regclass::text,
                                  {relation_privileges}
                           FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                           LEFT JOIN pg_init_privs ip ON ip.classoid = 'pg_class'::regclass AND ip.objoid = c.oid AND ip.objsubid = 0
                           WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
                             AND d.refobjid = x.oid AND d.deptype = 'e' AND c.relacl IS NOT NULL
                         ) mp), '{{}}') AS member_privileges
                 FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
                 LEFT JOIN pg_description ds ON ds.objoid = x.oid AND ds.classoid = 'pg_extension'::regclass AND ds.objsubid = 0",
                function_privileges = privileges(
                    "p.proacl",
                    "coalesce(ip.initprivs, acldefault('f', p.proowner))",
                    "p.proowner"
                ),
                relation_privileges = privileges(
                    "c.relacl",
                    "coalesce(ip.initprivs, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))",
                    "c.relowner"
                ),
            )),

            // Tables, partitioned tables, views and materialized views.
            relations: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
                        c.relpersistence = 'u' AS unlogged, c.relrowsecurity AS rls_enabled,
                        c.relforcerowsecurity AS rls_forced, coalesce(c.reloptions, '{{}}') AS options,
                        CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
                        CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
                        coalesce((SELECT json_agg(json_build_object('schema', pn.nspname, 'name', pc.relname) ORDER BY i.inhseqno)
                                  FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                                  WHERE i.inhrelid = c.oid), '[]') AS parents,
                        c.relispartition AS is_partition,
                        CASE WHEN c.relispartition THEN
                          (SELECT json_object_agg(a.attname, CASE WHEN nn.conname IS NULL
                                                                    OR nn.conname = c.relname || '_' || a.attname || '_not_null'
                                                               THEN NULL ELSE nn.conname END)
                           FROM pg_attribute a
                           JOIN pg_inherits i ON i.inhrelid = c.oid
                           JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                           LEFT JOIN pg_constraint nn ON nn.conrelid = c.oid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
                           LEFT JOIN pg_constraint pn ON pn.conrelid = i.inhparent AND pn.contype = 'n' AND pn.conkey[1] = pa.attnum
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
                             AND (NOT pa.attnotnull OR nn.conname IS DISTINCT FROM pn.conname)) END AS partition_not_null,
                        CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_definition,
                        CASE WHEN c.relkind = 'f' THEN
                          (SELECT json_build_object('server', fs.srvname, 'options', coalesce(ft.ftoptions, '{{}}'))
                           FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
                           WHERE ft.ftrelid = c.oid) END AS foreign,
                        ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
                 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {not_member}",
                privileges = object_privileges("c.relacl", 'r', "c.relowner"),
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            // Columns of tables, views, materialized views and composite types (not of
            // partitions: those are their parent's).
            columns: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS relation, a.attname AS name,
                        format_type(a.atttypid, a.atttypmod) AS data_type,
                        CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
                          (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                                       ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                           FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                           WHERE co.oid = a.attcollation) END AS collation,
                        a.attnotnull AS not_null,
                        (SELECT nn.conname FROM pg_constraint nn
                         WHERE nn.conrelid = c.oid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum) AS not_null_name,
                        coalesce((SELECT EXISTS (SELECT 1 FROM pg_constraint o
                                                 WHERE o.contype = 'n' AND o.connamespace = nn.connamespace
                                                   AND o.conname = nn.conname AND o.conrelid <> c.oid
                                                   AND o.conislocal)
                                  FROM pg_constraint nn
                                  WHERE nn.conrelid = c.oid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum), false) AS not_null_name_shared,
                        CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default,
                        CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
                        a.attgenerated = 'v' AS generated_virtual, NOT a.attislocal AS inherited,
                        NULLIF(a.attidentity, '')::text AS identity,
                        CASE WHEN a.attidentity <> '' THEN
                          (SELECT json_build_object('data_type', format_type(s.seqtypid, NULL), 'start', s.seqstart,
                                                    'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
                                                    'cache', s.seqcache, 'cycle', s.seqcycle,
                                                    'schema', sn.nspname, 'name', sc.relname, 'comment', sd.description,
                                                    'privileges', {sequence_privileges})
                           FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
                           JOIN pg_class sc ON sc.oid = s.seqrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                           LEFT JOIN pg_description sd ON sd.objoid = sc.oid AND sd.classoid = 'pg_class'::regclass AND sd.objsubid = 0
                           WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                             AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i') END AS identity_sequence,
                        coalesce(a.attoptions, '{{}}') AS options, coalesce(a.attfdwoptions, '{{}}') AS foreign_options,
                        CASE WHEN a.attstorage <> t.typstorage THEN
                          json_build_object('mode', {storage_a}, 'type_default', {storage_t}) END AS storage,
                        {compression} AS compression,
                        NULLIF(a.attstattarget, -1) AS statistics,
                        ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                 LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum
                 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'c') AND NOT c.relispartition AND {not_member}
                 ORDER BY c.oid, a.attnum",
                // Columns have no default privileges: acldefault('c') is the empty ACL.
                privileges = object_privileges("a.attacl", 'c', "c.relowner"),
                sequence_privileges = object_privileges("sc.relacl", 's', "sc.relowner"),
                storage_a = storage_word("a.attstorage"),
                storage_t = storage_word("t.typstorage"),
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            // Table constraints. NOT NULL (contype 'n', PostgreSQL 18) is the column's
            // `not_null`; constraint triggers are triggers. Constraints a partition or child
            // inherits are its parent's.
            constraints: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS relation, co.conname AS name, co.contype::text AS kind,
                        pg_get_constraintdef(co.oid) AS definition,
                        coalesce((SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(co.conkey) WITH ORDINALITY k(num, ord)
                                  JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num), '[]') AS columns,
                        CASE WHEN co.contype = 'f' THEN json_build_object(
                          'schema', fn.nspname, 'table', fc.relname,
                          'columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(co.confkey) WITH ORDINALITY k(num, ord)
                                      JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num),
                          'on_update', co.confupdtype, 'on_delete', co.confdeltype, 'match', co.confmatchtype) END AS foreign_key,
                        co.convalidated AS validated, co.condeferrable AS deferrable, co.condeferred AS initially_deferred,
                        CASE WHEN co.contype IN ('p', 'u', 'x') THEN ic.relname END AS index,
                        ds.description AS comment
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_constraint co ON co.conrelid = c.oid
                 LEFT JOIN pg_class fc ON fc.oid = co.confrelid
                 LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                 LEFT JOIN pg_class ic ON ic.oid = co.conindid
                 LEFT JOIN pg_description ds ON ds.objoid = co.oid AND ds.classoid = 'pg_constraint'::regclass
                 WHERE c.relkind IN ('r', 'p', 'f') AND co.contype IN ('p', 'u', 'f', 'c', 'x')
                   AND co.conparentid = 0 AND co.conislocal AND {not_member}",
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            // Indexes of tables and materialized views; a partition's index attached to its
            // parent's index is the parent's.
            indexes: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS relation, ic.relname AS name,
                        pg_get_indexdef(i.indexrelid) AS definition, am.amname AS method,
                        i.indisunique AS unique, i.indisprimary AS primary,
                        coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct,
                        coalesce((SELECT json_agg(pg_get_indexdef(i.indexrelid, k, true) ORDER BY k)
                                  FROM generate_series(1, i.indnkeyatts) k), '[]') AS keys,
                        coalesce((SELECT json_agg(pg_get_indexdef(i.indexrelid, k, true) ORDER BY k)
                                  FROM generate_series(i.indnkeyatts + 1, i.indnatts) k), '[]') AS include,
                        pg_get_expr(i.indpred, i.indrelid) AS predicate,
                        co.conname AS constraint, i.indisvalid AS valid, i.indisclustered AS clustered,
                        ds.description AS comment,
                        coalesce((SELECT json_object_agg(a.attnum, a.attstattarget)
                                  FROM pg_attribute a
                                  WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0), '{{}}') AS statistics
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_index i ON i.indrelid = c.oid
                 JOIN pg_class ic ON ic.oid = i.indexrelid
                 JOIN pg_am am ON am.oid = ic.relam
                 LEFT JOIN pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')
                 LEFT JOIN pg_description ds ON ds.objoid = ic.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
                 WHERE c.relkind IN ('r', 'p', 'm')
                   AND NOT EXISTS (SELECT 1 FROM pg_inherits inh WHERE inh.inhrelid = i.indexrelid)
                   AND {not_member}",
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            // User triggers: not the internal ones of foreign keys, not clones on partitions.
            triggers: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS relation, t.tgname AS name,
                        pg_get_triggerdef(t.oid) AS definition, t.tgconstraint <> 0 AS constraint,
                        t.tgenabled::text AS enabled, ds.description AS comment
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_trigger t ON t.tgrelid = c.oid
                 LEFT JOIN pg_description ds ON ds.objoid = t.oid AND ds.classoid = 'pg_trigger'::regclass
                 WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {not_member}",
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            policies: json_rows(
                "SELECT m.nspname AS schema, c.relname AS relation, p.polname AS name, p.polpermissive AS permissive,
                        p.polcmd::text AS command,
                        coalesce((SELECT json_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
                                                  ORDER BY CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END)
                                  FROM unnest(p.polroles) r), '[]') AS roles,
                        pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
                        ds.description AS comment
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_policy p ON p.polrelid = c.oid
                 LEFT JOIN pg_description ds ON ds.objoid = p.oid AND ds.classoid = 'pg_policy'::regclass",
            ),

            // Sequences, except identity sequences (their column has them).
            sequences: json_rows(&format!(
                "SELECT m.nspname AS schema, c.relname AS name, c.relpersistence = 'u' AS unlogged,
                        json_build_object('data_type', format_type(s.seqtypid, NULL), 'start', s.seqstart,
                                          'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
                                          'cache', s.seqcache, 'cycle', s.seqcycle) AS options,
                        (SELECT json_build_object('schema', tn.nspname, 'table', tc.relname, 'column', ta.attname)
                         FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                         JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                         JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype = 'a' AND d.refobjsubid > 0) AS owned_by,
                        ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_sequence s ON s.seqrelid = c.oid
                 LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
                 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
                   AND {not_member}",
                privileges = object_privileges("c.relacl", 's', "c.relowner"),
                not_member = not_extension_member("pg_class", "c.oid"),
            )),

            // Enums, domains, composite types (not table row types) and ranges. Array and
            // multirange types come with their element and range types.
            types: json_rows(&format!(
                "SELECT m.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
                        CASE WHEN t.typtype = 'e' THEN
                          (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END AS labels,
                        CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
                        CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN
                          (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                                       ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                           FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                           WHERE co.oid = t.typcollation) END AS collation,
                        t.typnotnull AS not_null,
                        pg_get_expr(t.typdefaultbin, 0) AS default,
                        CASE WHEN t.typtype = 'd' THEN
                          coalesce((SELECT json_object_agg(co.conname, json_build_object('definition', pg_get_constraintdef(co.oid),
                                                                                         'validated', co.convalidated))
                                    FROM pg_constraint co WHERE co.contypid = t.oid AND co.contype = 'c'), '{{}}') END AS checks,
                        CASE WHEN t.typtype = 'r' THEN
                          (SELECT json_build_object(
                             'subtype', format_type(r.rngsubtype, NULL),
                             'subtype_opclass', CASE WHEN NOT opc.opcdefault THEN quote_ident(opn.nspname) || '.' || quote_ident(opc.opcname) END,
                             'collation', CASE WHEN r.rngcollation <> 0 THEN
                                (SELECT quote_ident(co.collname) FROM pg_collation co WHERE co.oid = r.rngcollation) END,
                             'canonical', CASE WHEN r.rngcanonical::oid <> 0 THEN r.rngcanonical::regproc::text END,
                             'subtype_diff', CASE WHEN r.rngsubdiff::oid <> 0 THEN r.rngsubdiff::regproc::text END,
                             'multirange', (to_jsonb(r) ->> 'rngmultitypid')::oid::regtype::text)
                           FROM pg_range r JOIN pg_opclass opc ON opc.oid = r.rngsubopc
                           JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
                           WHERE r.rngtypid = t.oid) END AS range,
                        ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_type t ON t.typnamespace = m.oid
                 LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
                 LEFT JOIN pg_description ds ON ds.objoid = t.oid AND ds.classoid = 'pg_type'::regclass
                 WHERE t.typtype IN ('e', 'd', 'c', 'r')
                   AND (t.typtype <> 'c' OR (SELECT rc.relkind FROM pg_class rc WHERE rc.oid = t.typrelid) = 'c')
                   AND {not_member}",
                privileges = object_privileges("t.typacl", 'T', "t.typowner"),
                not_member = not_extension_member("pg_type", "t.oid"),
            )),

            functions: json_rows(&format!(
                "SELECT m.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS identity,
                        p.prokind::text AS kind,
                        CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
                        pg_get_function_arguments(p.oid) AS arguments,
                        coalesce(pg_get_function_result(p.oid), '') AS result, l.lanname AS language,
                        oidvectortypes(p.proargtypes) AS input_types,
                        CASE WHEN p.prokind = 'a' THEN
                          (SELECT json_build_object(
                             'transition', ag.aggtransfn::regproc::text,
                             'state_type', format_type(ag.aggtranstype, NULL),
                             'final_function', CASE WHEN ag.aggfinalfn::oid <> 0 THEN ag.aggfinalfn::regproc::text END,
                             'combine_function', CASE WHEN ag.aggcombinefn::oid <> 0 THEN ag.aggcombinefn::regproc::text END,
                             'initial_condition', ag.agginitval,
                             'sort_operator', CASE WHEN ag.aggsortop <> 0 THEN ag.aggsortop::regoperator::text END,
                             'final_extra', ag.aggfinalextra,
                             'final_modify', CASE WHEN ag.aggfinalmodify <> CASE WHEN ag.aggkind = 'n' THEN 'r' ELSE 'w' END
                                             THEN CASE ag.aggfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
                             'serial_function', CASE WHEN ag.aggserialfn::oid <> 0 THEN ag.aggserialfn::regproc::text END,
                             'deserial_function', CASE WHEN ag.aggdeserialfn::oid <> 0 THEN ag.aggdeserialfn::regproc::text END,
                             'state_space', NULLIF(ag.aggtransspace, 0),
                             'hypothetical', ag.aggkind = 'h',
                             'parallel', CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' END,
                             'moving', CASE WHEN ag.aggmtransfn::oid <> 0 THEN json_build_object(
                               'transition', ag.aggmtransfn::regproc::text,
                               'inverse', ag.aggminvtransfn::regproc::text,
                               'state_type', format_type(ag.aggmtranstype, NULL),
                               'state_space', NULLIF(ag.aggmtransspace, 0),
                               'final_function', CASE WHEN ag.aggmfinalfn::oid <> 0 THEN ag.aggmfinalfn::regproc::text END,
                               'final_extra', ag.aggmfinalextra,
                               'final_modify', CASE WHEN ag.aggmfinalmodify <> CASE WHEN ag.aggkind = 'n' THEN 'r' ELSE 'w' END
                                               THEN CASE ag.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
                               'initial_condition', ag.aggminitval) END)
                           FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid) END AS aggregate,
                        ds.description AS comment, {privileges} AS privileges
                 FROM managed m JOIN pg_proc p ON p.pronamespace = m.oid
                 JOIN pg_language l ON l.oid = p.prolang
                 LEFT JOIN pg_description ds ON ds.objoid = p.oid AND ds.classoid = 'pg_proc'::regclass
                 WHERE {not_member}
                   -- Functions a type made for itself (range constructors) are the type's.
                   AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass AND i.objid = p.oid AND i.deptype = 'i')",
                privileges = object_privileges("p.proacl", 'f', "p.proowner"),
                not_member = not_extension_member("pg_proc", "p.oid"),
            )),

            // ALTER DEFAULT PRIVILEGES: database-wide entries change PostgreSQL's defaults;
            // per-schema entries add to them.
            default_privileges: json_rows(&format!(
                "SELECT pg_get_userbyid(d.defaclrole)::text AS role, n.nspname AS schema, d.defaclobjtype::text AS object_type,
                        CASE WHEN d.defaclnamespace = 0
                             THEN {global}
                             ELSE {in_schema} END AS privileges
                 FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
                 WHERE d.defaclnamespace = 0 OR d.defaclnamespace IN (SELECT oid FROM managed)",
                global = privileges(
                    "d.defaclacl",
                    "acldefault((CASE d.defaclobjtype WHEN 'S' THEN 's' WHEN 'f' THEN 'f' WHEN 'T' THEN 'T' WHEN 'n' THEN 'n' ELSE 'r' END)::\"char\", d.defaclrole)",
                    "d.defaclrole"
                ),
                // Per-schema entries add to the defaults: relative to the empty ACL (acldefault('c')).
                in_schema = privileges("d.defaclacl", "acldefault('c', d.defaclrole)", "d.defaclrole"),
            )),

            // What views and materialized views read, for ordering.
            dependencies: json_rows(
                "SELECT DISTINCT m.nspname AS schema, c.relname AS relation, rn.nspname AS ref_schema, rc.relname AS ref_name
                 FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                 JOIN pg_rewrite rw ON rw.ev_class = c.oid
                 JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
                 JOIN pg_class rc ON rc.oid = d.refobjid
                 JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                 WHERE c.relkind IN ('v', 'm')",
            ),

            // Kinds with few objects, read in one request: collations, …
            objects: json_object_of_rows(&[(
                "collations",
                format!(
                    "SELECT m.nspname AS schema, o.collname AS name,
                            CASE o.collprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'default' END AS provider,
                            NULLIF(to_jsonb(o) ->> 'collcollate', '') AS lc_collate, NULLIF(to_jsonb(o) ->> 'collctype', '') AS lc_ctype,
                            NULLIF(coalesce(to_jsonb(o) ->> 'colllocale', to_jsonb(o) ->> 'colliculocale'), '') AS locale,
                            to_jsonb(o) ->> 'collicurules' AS rules,
                            o.collisdeterministic AS deterministic, ds.description AS comment
                     FROM managed m JOIN pg_collation o ON o.collnamespace = m.oid
                     LEFT JOIN pg_description ds ON ds.objoid = o.oid AND ds.classoid = 'pg_collation'::regclass
                     WHERE {not_member}",
                    not_member = not_extension_member("pg_collation", "o.oid"),
                ),
            ), (
                "statistics",
                format!(
                    "SELECT m.nspname AS schema, s.stxname AS name, tn.nspname AS table_schema, tc.relname AS table_name,
                            pg_get_statisticsobjdef(s.oid) AS definition,
                            NULLIF((to_jsonb(s) ->> 'stxstattarget')::int, -1) AS target, ds.description AS comment
                     FROM managed m JOIN pg_statistic_ext s ON s.stxnamespace = m.oid
                     JOIN pg_class tc ON tc.oid = s.stxrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                     LEFT JOIN pg_description ds ON ds.objoid = s.oid AND ds.classoid = 'pg_statistic_ext'::regclass
                     WHERE {not_member}",
                    not_member = not_extension_member("pg_statistic_ext", "s.oid"),
                ),
            ), (
                "rules",
                format!(
                    "SELECT m.nspname AS schema, c.relname AS relation, rw.rulename AS name,
                            rtrim(pg_get_ruledef(rw.oid), ';') AS definition, rw.ev_enabled::text AS enabled,
                            ds.description AS comment
                     FROM managed m JOIN pg_class c ON c.relnamespace = m.oid
                     JOIN pg_rewrite rw ON rw.ev_class = c.oid
                     LEFT JOIN pg_description ds ON ds.objoid = rw.oid AND ds.classoid = 'pg_rewrite'::regclass
                     WHERE rw.rulename <> '_RETURN' AND {not_member}",
                    not_member = not_extension_member("pg_class", "c.oid"),
                ),
            ), (
                // Foreign data wrappers and servers belong to the database: those of the
                // managed foreign tables, and those no foreign table uses.
                "wrappers",
                format!(
                    "SELECT w.fdwname AS name,
                            CASE WHEN w.fdwhandler <> 0 THEN w.fdwhandler::regproc::text END AS handler,
                            CASE WHEN w.fdwvalidator <> 0 THEN w.fdwvalidator::regproc::text END AS validator,
                            coalesce(w.fdwoptions, '{{}}') AS options, ds.description AS comment,
                            {privileges} AS privileges
                     FROM pg_foreign_data_wrapper w
                     LEFT JOIN pg_description ds ON ds.objoid = w.oid AND ds.classoid = 'pg_foreign_data_wrapper'::regclass
                     WHERE {not_member}
                       AND (NOT EXISTS (SELECT 1 FROM pg_foreign_server s WHERE s.srvfdw = w.oid)
                            OR EXISTS (SELECT 1 FROM pg_foreign_server s WHERE s.srvfdw = w.oid AND {server_read}))",
                    privileges = object_privileges("w.fdwacl", 'F', "w.fdwowner"),
                    not_member = not_extension_member("pg_foreign_data_wrapper", "w.oid"),
                    server_read = SERVER_READ,
                ),
            ), (
                "servers",
                format!(
                    "SELECT s.srvname AS name, w.fdwname AS wrapper, s.srvtype AS server_type, s.srvversion AS version,
                            coalesce(s.srvoptions, '{{}}') AS options,
                            coalesce((SELECT json_object_agg(CASE WHEN u.umuser = 0 THEN 'PUBLIC' ELSE u.usename::text END,
                                                             coalesce(u.umoptions, '{{}}'))
                                      FROM pg_user_mappings u WHERE u.srvid = s.oid), '{{}}') AS user_mappings,
                            ds.description AS comment, {privileges} AS privileges
                     FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                     LEFT JOIN pg_description ds ON ds.objoid = s.oid AND ds.classoid = 'pg_foreign_server'::regclass
                     WHERE {not_member} AND {server_read}",
                    privileges = object_privileges("s.srvacl", 'S', "s.srvowner"),
                    not_member = not_extension_member("pg_foreign_server", "s.oid"),
                    server_read = SERVER_READ,
                ),
            ), (
                "operators",
                format!(
                    "SELECT m.nspname AS schema, o.oprname AS name,
                            CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END AS left,
                            format_type(o.oprright, NULL) AS right, o.oprcode::regproc::text AS function,
                            (SELECT 'OPERATOR(' || quote_ident(cn.nspname) || '.' || c.oprname || ')'
                             FROM pg_operator c JOIN pg_namespace cn ON cn.oid = c.oprnamespace
                             WHERE c.oid = o.oprcom) AS commutator,
                            (SELECT 'OPERATOR(' || quote_ident(cn.nspname) || '.' || c.oprname || ')'
                             FROM pg_operator c JOIN pg_namespace cn ON cn.oid = c.oprnamespace
                             WHERE c.oid = o.oprnegate) AS negator,
                            CASE WHEN o.oprrest <> 0 THEN o.oprrest::regproc::text END AS restrict,
                            CASE WHEN o.oprjoin <> 0 THEN o.oprjoin::regproc::text END AS join,
                            o.oprcanhash AS hashes, o.oprcanmerge AS merges, ds.description AS comment
                     FROM managed m JOIN pg_operator o ON o.oprnamespace = m.oid
                     LEFT JOIN pg_description ds ON ds.objoid = o.oid AND ds.classoid = 'pg_operator'::regclass
                     WHERE {not_member}",
                    not_member = not_extension_member("pg_operator", "o.oid"),
                ),
            ), (
                // Casts belong to the database: those from or to a managed type, or through a
                // managed function.
                "casts",
                format!(
                    "SELECT format_type(c.castsource, NULL) AS source, format_type(c.casttarget, NULL) AS target,
                            CASE WHEN c.castfunc <> 0 THEN c.castfunc::regprocedure::text END AS function,
                            c.castmethod = 'b' AS binary,
                            CASE c.castcontext WHEN 'a' THEN 'ASSIGNMENT' WHEN 'i' THEN 'IMPLICIT' END AS context,
                            ds.description AS comment
                     FROM pg_cast c
                     LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_cast'::regclass
                     WHERE (EXISTS (SELECT 1 FROM pg_type t JOIN managed m ON m.oid = t.typnamespace
                                    WHERE t.oid IN (c.castsource, c.casttarget))
                            OR EXISTS (SELECT 1 FROM pg_proc p JOIN managed m ON m.oid = p.pronamespace
                                       WHERE p.oid = c.castfunc))
                       -- A range's cast to its multirange is the type's own.
                       AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_cast'::regclass
                                       AND i.objid = c.oid AND i.deptype = 'i')
                       AND {not_member}",
                    not_member = not_extension_member("pg_cast", "c.oid"),
                ),
            )]),

            unmodeled: census(),
        }
    }
}
