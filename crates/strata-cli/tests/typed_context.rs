//! Typed data migrations: the types `strata codegen` writes (tests/typed/schema.rs, from
//! tests/typed/schemas/) used by a migration's Context against a real server, and the command
//! line around them: `codegen`, `check`, `push`, `data new --rust`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;

use common::{run, strata};
use strata::codegen::{chrono, serde_json, uuid};
use strata::data::{Context, DataMigration, DataResult, Migration};
use strata::testing::TestDatabase;
use strata_testkit::{TestDb, server};

#[path = "typed/schema.rs"]
mod schema;

use schema::shop::{Items, NewItems, Status};

fn typed_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/typed"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// `strata <args>` in `dir` against `db`.
fn on(dir: &Path, db: &TestDb, args: &[&str]) -> (i32, String, String) {
    run(strata(dir)
        .args(args)
        .env("DATABASE_URL", db.url().expose())
        .env("STRATA_DEV_URL", server().url().expose())
        .stdin(Stdio::null()))
}

#[tokio::test]
async fn the_checked_in_types_are_what_codegen_writes() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        typed_dir().join("strata.toml"),
        dir.path().join("strata.toml"),
    )
    .unwrap();
    copy_dir(&typed_dir().join("schemas"), &dir.path().join("schemas"));
    let db = TestDb::new().await;
    let (code, out, err) = on(dir.path(), &db, &["codegen"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote schema.rs"), "{out}");
    let written = fs::read_to_string(dir.path().join("schema.rs")).unwrap();
    if std::env::var_os("STRATA_UPDATE_EXPECT").is_some() {
        fs::write(typed_dir().join("schema.rs"), &written).unwrap();
    }
    assert_eq!(
        written,
        fs::read_to_string(typed_dir().join("schema.rs")).unwrap(),
        "tests/typed/schema.rs is stale: STRATA_UPDATE_EXPECT=1 rewrites it"
    );
    // Written again: nothing changes.
    let (code, out, err) = on(dir.path(), &db, &["codegen"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("schema.rs is up to date"), "{out}");
}

fn item(sku: &str) -> NewItems {
    NewItems {
        sku: sku.to_owned(),
        status: None,
        tags: None,
        price: None,
        attributes: None,
        added_on: None,
        seen_at: None,
        r#ref: None,
        stock: None,
        label: None,
    }
}

/// Every typed operation, each checked by reading the table back.
struct Typed;

impl DataMigration for Typed {
    fn name(&self) -> &str {
        "shop_0001_typed"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let full = NewItems {
            status: Some(Status::InStock),
            tags: Some(vec!["new".into(), "blue".into()]),
            price: Some("12.50".into()),
            attributes: Some(serde_json::json!({"colour": "blue"})),
            added_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
            seen_at: Some(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            r#ref: Some(uuid::Uuid::from_u128(7)),
            stock: Some(4),
            label: Some("Full".into()),
            ..item("A-1")
        };
        let id: i64 = cx.insert_returning(&full, Items::ID).await?;
        assert!(id > 0);
        assert_eq!(cx.insert_many(&[item("A-2"), item("A-3")]).await?, 2);
        // Binary COPY through a staging table (a domain and a numeric column are cast).
        let copied: Vec<NewItems> = (10..15)
            .map(|n| NewItems {
                price: Some(format!("{n}.25")),
                ..item(&format!("C-{n}"))
            })
            .collect();
        assert_eq!(cx.copy_rows(&copied).await?, 5);
        // An upsert on the unique sku: two updated, one inserted.
        let upserted = [
            NewItems {
                price: Some("1.00".into()),
                ..item("A-2")
            },
            NewItems {
                price: Some("2.00".into()),
                ..item("A-3")
            },
            item("U-1"),
        ];
        assert_eq!(cx.upsert_rows(Items::KEY_SKU_KEY, &upserted).await?, 3);
        let changed = cx
            .update_by(
                Items::SKU,
                &"A-1".to_owned(),
                &[
                    Items::STATUS.set(Status::SoldOut),
                    Items::PRICE.set(Some("9.99".to_owned())),
                ],
            )
            .await?;
        assert_eq!(changed, 1);
        // Draft rows: the copied ones (a default where the first row had none), A-2, A-3, U-1.
        assert_eq!(cx.delete_by(Items::STATUS, &Status::Draft).await?, 8);
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.delete_by(Items::SKU, &"A-1".to_owned()).await?;
        Ok(())
    }
}

#[tokio::test]
async fn typed_operations_write_what_they_say() {
    let mut db = TestDatabase::on(server().url()).await.unwrap();
    db.execute(&fs::read_to_string(typed_dir().join("schemas/shop/schema.sql")).unwrap())
        .await
        .unwrap();
    db.up("shop", &Migration::new(Typed))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = db
        .client()
        .query(
            "SELECT sku, status::text, tags, price::text, attributes->>'colour', added_on::text,
                    extract(epoch FROM seen_at)::bigint, ref::text, stock, doubled, \"Label\"
             FROM shop.items ORDER BY sku",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only A-1 is not a draft");
    let row = &rows[0];
    assert_eq!(row.get::<_, String>(0), "A-1");
    assert_eq!(row.get::<_, String>(1), "sold out");
    assert_eq!(row.get::<_, Vec<String>>(2), ["new", "blue"]);
    assert_eq!(row.get::<_, String>(3), "9.99");
    assert_eq!(row.get::<_, String>(4), "blue");
    assert_eq!(row.get::<_, String>(5), "2026-03-01");
    assert_eq!(row.get::<_, i64>(6), 1_700_000_000);
    assert_eq!(
        row.get::<_, String>(7),
        "00000000-0000-0000-0000-000000000007"
    );
    assert_eq!(row.get::<_, i32>(8), 4);
    assert_eq!(row.get::<_, i32>(9), 8);
    assert_eq!(row.get::<_, String>(10), "Full");
    db.drop().await.unwrap();
}

#[tokio::test]
async fn copy_rows_refuses_rows_of_another_shape() {
    struct Shapes;
    impl DataMigration for Shapes {
        fn name(&self) -> &str {
            "shop_0002_shapes"
        }
        async fn up(&self, cx: &mut Context<'_>) -> DataResult {
            let rows = [
                item("S-1"),
                NewItems {
                    stock: Some(3),
                    ..item("S-2")
                },
            ];
            cx.copy_rows(&rows).await?;
            Ok(())
        }
        async fn down(&self, _: &mut Context<'_>) -> DataResult {
            Ok(())
        }
    }
    let mut db = TestDatabase::on(server().url()).await.unwrap();
    db.execute(&fs::read_to_string(typed_dir().join("schemas/shop/schema.sql")).unwrap())
        .await
        .unwrap();
    let error = db
        .up("shop", &Migration::new(Shapes))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("row 2 gives other columns than the first"),
        "{error}"
    );
    db.drop().await.unwrap();
}

#[tokio::test]
async fn codegen_follows_the_declared_files_through_check_push_and_data_new() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("schemas/shop")).unwrap();
    fs::write(root.join("strata.toml"), "[schema]\ndir = \"schemas\"\n").unwrap();
    fs::write(
        root.join("schemas/shop/schema.sql"),
        "CREATE SCHEMA shop;\nCREATE TABLE shop.items (id integer PRIMARY KEY, name text NOT NULL);\n",
    )
    .unwrap();
    let db = TestDb::new().await;

    // Without [codegen], codegen says what to add.
    let (code, _, err) = on(root, &db, &["codegen"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("[codegen]") && err.contains("rust = \"src/schema.rs\""),
        "{err}"
    );

    fs::write(
        root.join("strata.toml"),
        "[schema]\ndir = \"schemas\"\n\n[codegen]\nrust = \"src/schema.rs\"\n",
    )
    .unwrap();
    let (code, out, _) = on(root, &db, &["codegen", "--check"]);
    assert_eq!(code, 1, "a missing file is stale");
    assert!(out.contains("src/schema.rs is missing"), "{out}");
    let (code, _, err) = on(root, &db, &["codegen"]);
    assert_eq!(code, 0, "{err}");
    let generated = fs::read_to_string(root.join("src/schema.rs")).unwrap();
    assert!(
        generated.starts_with("// @generated by strata"),
        "{generated}"
    );
    assert!(generated.contains("pub name: String,"), "{generated}");

    // A new column: check finds the file stale, push rewrites it.
    fs::write(
        root.join("schemas/shop/schema.sql"),
        "CREATE SCHEMA shop;\nCREATE TABLE shop.items (id integer PRIMARY KEY, name text NOT NULL, note text);\n",
    )
    .unwrap();
    let (code, out, _) = on(root, &db, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "codegen: src/schema.rs is not what the declared schema gives; run `strata codegen`"
        ),
        "{out}"
    );
    let (code, _, err) = on(root, &db, &["push"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote src/schema.rs"), "{err}");
    let generated = fs::read_to_string(root.join("src/schema.rs")).unwrap();
    assert!(
        generated.contains("pub note: Option<String>,"),
        "{generated}"
    );
    let (code, out, _) = on(root, &db, &["codegen", "--check", "--json"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({ "file": "src/schema.rs", "stale": false })
    );

    // data new --rust registers the migration in the schema's mod.rs: the first one writes it,
    // the second is added to the list.
    let (code, out, err) = on(root, &db, &["data", "new", "shop", "first", "--rust"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("registered it in"), "{out}");
    let list = root.join("src/data_migrations/shop/mod.rs");
    let text = fs::read_to_string(&list).unwrap();
    assert!(
        text.contains("pub mod m0001_first;")
            && text.contains("vec![Migration::new(m0001_first::Migration)]"),
        "{text}"
    );
    let (code, out, err) = on(root, &db, &["data", "new", "shop", "second", "--rust"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("registered it in"), "{out}");
    let text = fs::read_to_string(&list).unwrap();
    assert!(
        text.contains("pub mod m0001_first;\npub mod m0002_second;\n")
            && text.contains(
                "    vec![\n        Migration::new(m0001_first::Migration),\n        Migration::new(m0002_second::Migration),\n    ]\n"
            ),
        "{text}"
    );
}
