//! The same schema built in different ways has the same catalog hash; a different one does not.

use strata::introspect::{Scope, introspect};
use strata_core::catalog::Catalog;
use strata_testkit::TestDb;

async fn catalog(sql: &str) -> Catalog {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{sql}"));
    introspect(&client, &Scope::AllUserSchemas)
        .await
        .unwrap()
        .catalog
}

async fn assert_same(a: &str, b: &str) {
    let (a, b) = (catalog(a).await, catalog(b).await);
    assert_eq!(a, b);
    assert_eq!(a.hash(), b.hash());
}

#[tokio::test]
async fn serial_and_an_owned_sequence_with_a_default() {
    assert_same(
        "CREATE TABLE public.t (id serial PRIMARY KEY)",
        "CREATE SEQUENCE public.t_id_seq AS integer;
         CREATE TABLE public.t (id integer NOT NULL DEFAULT nextval('public.t_id_seq'::regclass), CONSTRAINT t_pkey PRIMARY KEY (id));
         ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;",
    )
    .await;
}

#[tokio::test]
async fn inline_constraints_and_alter_table() {
    assert_same(
        "CREATE TABLE public.p (id int PRIMARY KEY);
         CREATE TABLE public.c (id int PRIMARY KEY, p_id int REFERENCES public.p (id) ON DELETE CASCADE, CHECK (id > 0), UNIQUE (p_id));
         CREATE INDEX c_p ON public.c (p_id, id);",
        "CREATE TABLE public.c (id int, p_id int);
         CREATE TABLE public.p (id int);
         CREATE INDEX c_p ON public.c (p_id, id);
         ALTER TABLE public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);
         ALTER TABLE public.c ADD CONSTRAINT c_pkey PRIMARY KEY (id);
         ALTER TABLE public.c ADD CONSTRAINT c_id_check CHECK (id > 0);
         ALTER TABLE public.c ADD CONSTRAINT c_p_id_key UNIQUE (p_id);
         ALTER TABLE public.c ADD CONSTRAINT c_p_id_fkey FOREIGN KEY (p_id) REFERENCES public.p (id) ON DELETE CASCADE;",
    )
    .await;
}

#[tokio::test]
async fn objects_created_in_another_order_and_search_path() {
    let first = "CREATE SCHEMA app;
         CREATE ROLE strata_eq_reader;
         CREATE TYPE app.status AS ENUM ('a', 'b');
         CREATE TABLE app.items (id int PRIMARY KEY, s app.status DEFAULT 'a', price numeric(10,2));
         CREATE FUNCTION app.double(n numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT n * 2';
         CREATE VIEW app.pricey AS SELECT id, app.double(price) AS twice FROM app.items;
         COMMENT ON TABLE app.items IS 'items';
         GRANT SELECT ON app.items TO strata_eq_reader;
         GRANT SELECT ON app.pricey TO strata_eq_reader;";
    let second = "CREATE SCHEMA app;
         SET search_path = app, public;
         CREATE ROLE strata_eq_reader;
         CREATE FUNCTION double(n numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT n * 2';
         CREATE TYPE status AS ENUM ('a', 'b');
         CREATE TABLE items (id int, s status, price numeric(10,2));
         GRANT SELECT ON items TO strata_eq_reader;
         ALTER TABLE items ALTER COLUMN s SET DEFAULT 'a';
         ALTER TABLE items ADD PRIMARY KEY (id);
         CREATE VIEW pricey AS SELECT id, double(price) AS twice FROM items;
         GRANT SELECT ON pricey TO strata_eq_reader;
         COMMENT ON TABLE items IS 'items';";
    // Roles are cluster-wide: the two databases share one, so create it once.
    let setup = TestDb::new().await;
    setup
        .client()
        .await
        .batch_execute("DROP ROLE IF EXISTS strata_eq_reader")
        .await
        .ok();
    drop(setup);
    let a = catalog(first).await;
    let b = catalog(&second.replace("CREATE ROLE strata_eq_reader;", "")).await;
    assert_eq!(a, b);
    assert_eq!(a.hash(), b.hash());
}

#[tokio::test]
async fn a_different_schema_has_a_different_hash() {
    let base = catalog("CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 1)").await;
    for other in [
        "CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 2)",
        "CREATE TABLE public.t (id int PRIMARY KEY, n bigint DEFAULT 1)",
        "CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 1 NOT NULL)",
        "CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 1); COMMENT ON COLUMN public.t.n IS 'n'",
        "CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 1); CREATE INDEX ON public.t (n)",
    ] {
        assert_ne!(catalog(other).await.hash(), base.hash(), "{other}");
    }
}
