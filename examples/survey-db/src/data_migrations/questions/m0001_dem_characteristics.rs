//! Loads the demographic characteristics battery and its questions.

use serde::Deserialize;
use strata::data::{Context, DataMigration, DataResult};

#[derive(Deserialize)]
struct Battery {
    battery: BatteryRow,
    questions: Vec<Question>,
}

#[derive(Deserialize)]
struct BatteryRow {
    name: String,
    prefix: String,
}

#[derive(Deserialize)]
struct Question {
    code: String,
    text: String,
}

/// The battery's name, also in the data file.
const BATTERY: &str = "dem_characteristics";

pub struct Migration;

fn url() -> String {
    super::super::data_url("dem_characteristics.json")
}

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "questions_0001_dem_characteristics"
    }

    fn inputs(&self) -> Vec<String> {
        vec![url()]
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let data: Battery = cx.fetch_json(&url()).await?;
        let battery: i32 = cx
            .query_one(
                "INSERT INTO questions.batteries (name, prefix) VALUES ($1, $2) RETURNING id",
                &[&data.battery.name, &data.battery.prefix],
            )
            .await?
            .get(0);
        for question in &data.questions {
            cx.execute(
                "INSERT INTO questions.questions (battery_id, code, text) VALUES ($1, $2, $3)",
                &[&battery, &question.code, &question.text],
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        cx.execute(
            "DELETE FROM questions.questions WHERE battery_id = (SELECT id FROM questions.batteries WHERE name = $1)",
            &[&BATTERY],
        )
        .await?;
        cx.execute(
            "DELETE FROM questions.batteries WHERE name = $1",
            &[&BATTERY],
        )
        .await?;
        Ok(())
    }
}
