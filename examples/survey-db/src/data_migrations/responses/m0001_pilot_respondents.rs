//! Loads the respondents of the pilot study.

use serde::Deserialize;
use strata::data::{Context, DataMigration, DataResult};

#[derive(Deserialize)]
struct Respondent {
    external_id: String,
}

pub struct Migration;

fn url() -> String {
    super::super::data_url("pilot_respondents.json")
}

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "responses_0001_pilot_respondents"
    }

    fn inputs(&self) -> Vec<String> {
        vec![url()]
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let respondents: Vec<Respondent> = cx.fetch_json(&url()).await?;
        let mut load = cx
            .copy_in("responses.respondents", &["external_id"])
            .await?;
        for respondent in &respondents {
            load.write(&[&respondent.external_id]).await?;
        }
        load.finish().await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        let respondents: Vec<Respondent> = cx.fetch_json(&url()).await?;
        let ids: Vec<&str> = respondents.iter().map(|r| r.external_id.as_str()).collect();
        cx.execute(
            "DELETE FROM responses.respondents WHERE external_id = ANY($1)",
            &[&ids],
        )
        .await?;
        Ok(())
    }
}
