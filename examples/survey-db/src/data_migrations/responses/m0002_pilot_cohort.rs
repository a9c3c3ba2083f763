//! Puts the pilot's respondents in the `pilot` cohort.

use strata::data::{Context, DataMigration, DataResult};

use crate::schema::responses::Respondents;

const PILOT: &str = "pilot";

pub struct Migration;

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "responses_0002_pilot_cohort"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let pilots = cx
            .query(
                "SELECT external_id FROM responses.respondents WHERE external_id LIKE 'R-%'",
                &[],
            )
            .await?;
        for pilot in pilots {
            let external_id: String = pilot.get(0);
            cx.update_by(
                Respondents::EXTERNAL_ID,
                &external_id,
                &[Respondents::COHORT.set(Some(PILOT.to_owned()))],
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.update_by(
            Respondents::COHORT,
            &Some(PILOT.to_owned()),
            &[Respondents::COHORT.set(None)],
        )
        .await?;
        Ok(())
    }
}
