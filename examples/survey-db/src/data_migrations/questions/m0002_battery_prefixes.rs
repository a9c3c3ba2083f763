//! Question codes carry their battery's prefix in lower case from now on.

use strata::data::{Context, DataMigration, DataResult};

pub struct Migration;

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "questions_0002_battery_prefixes"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute("UPDATE questions.batteries SET prefix = lower(prefix)", &[])
            .await?;
        cx.execute("UPDATE questions.questions SET code = lower(code)", &[])
            .await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute("UPDATE questions.batteries SET prefix = upper(prefix)", &[])
            .await?;
        cx.execute("UPDATE questions.questions SET code = upper(code)", &[])
            .await?;
        Ok(())
    }
}
