//! Loads the respondents of the pilot study.

use serde::Deserialize;
use strata::data::{Context, DataMigration, DataResult};

use crate::schema::responses::{NewRespondents, Respondents};

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
        let rows: Vec<NewRespondents> = respondents
            .into_iter()
            .map(|respondent| NewRespondents {
                id: None,
                external_id: respondent.external_id,
                cohort: None,
            })
            .collect();
        // Binary COPY, the columns and types checked against the generated row type.
        cx.copy_rows(&rows).await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        let respondents: Vec<Respondent> = cx.fetch_json(&url()).await?;
        for respondent in &respondents {
            cx.delete_by(Respondents::EXTERNAL_ID, &respondent.external_id)
                .await?;
        }
        Ok(())
    }
}
