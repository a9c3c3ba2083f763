//! Question codes carry their battery's prefix in lower case from now on.

use strata::data::{Context, DataMigration, DataResult};

use crate::schema::questions::{Batteries, Questions};

pub struct Migration;

/// Sets every battery's prefix and every question's code to `case` of what it is.
async fn recase(cx: &Context<'_>, case: fn(&str) -> String) -> DataResult {
    for row in cx
        .query("SELECT name, prefix FROM questions.batteries", &[])
        .await?
    {
        let (name, prefix): (String, String) = (row.get(0), row.get(1));
        cx.update_by(
            Batteries::NAME,
            &name,
            &[Batteries::PREFIX.set(case(&prefix))],
        )
        .await?;
    }
    for row in cx
        .query("SELECT id, code FROM questions.questions", &[])
        .await?
    {
        let (id, code): (i32, String) = (row.get(0), row.get(1));
        cx.update_by(Questions::ID, &id, &[Questions::CODE.set(case(&code))])
            .await?;
    }
    Ok(())
}

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "questions_0002_battery_prefixes"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        recase(cx, str::to_lowercase).await
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        recase(cx, str::to_uppercase).await
    }
}
