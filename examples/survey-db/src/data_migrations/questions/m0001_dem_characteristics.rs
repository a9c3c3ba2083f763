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

/// The battery as shipped with the package.
const DATA: &str = include_str!("../../../data/dem_characteristics.json");

pub struct Migration;

impl DataMigration for Migration {
    fn name(&self) -> &str {
        "questions_0001_dem_characteristics"
    }

    async fn up(&self, cx: &mut Context<'_>) -> DataResult {
        let data: Battery = serde_json::from_str(DATA)?;
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
        let data: Battery = serde_json::from_str(DATA)?;
        cx.execute(
            "DELETE FROM questions.questions WHERE battery_id = (SELECT id FROM questions.batteries WHERE name = $1)",
            &[&data.battery.name],
        )
        .await?;
        cx.execute(
            "DELETE FROM questions.batteries WHERE name = $1",
            &[&data.battery.name],
        )
        .await?;
        Ok(())
    }
}
