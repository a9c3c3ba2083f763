//! Loads the respondents of the pilot study.

use serde::Deserialize;
use strata::data::{Context, DataMigration, DataResult};

#[derive(Deserialize)]
struct Respondent {
    external_id: String,
}

const DATA: &str = include_str!("../../../data/pilot_respondents.json");

pub struct Migration;

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "responses_0001_pilot_respondents"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let respondents: Vec<Respondent> = serde_json::from_str(DATA)?;
        for respondent in &respondents {
            cx.execute(
                "INSERT INTO responses.respondents (external_id) VALUES ($1)",
                &[&respondent.external_id],
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        let respondents: Vec<Respondent> = serde_json::from_str(DATA)?;
        let ids: Vec<&str> = respondents.iter().map(|r| r.external_id.as_str()).collect();
        cx.execute(
            "DELETE FROM responses.respondents WHERE external_id = ANY($1)",
            &[&ids],
        )
        .await?;
        Ok(())
    }
}
