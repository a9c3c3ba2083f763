//! Puts the pilot's respondents in the `pilot` cohort.

use strata::data::{Context, DataMigration, DataResult};

pub struct Migration;

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "responses_0002_pilot_cohort"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute(
            "UPDATE responses.respondents SET cohort = 'pilot' WHERE external_id LIKE 'R-%'",
            &[],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute(
            "UPDATE responses.respondents SET cohort = NULL WHERE cohort = 'pilot'",
            &[],
        )
        .await?;
        Ok(())
    }
}
