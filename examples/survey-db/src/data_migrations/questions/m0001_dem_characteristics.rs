//! Loads the demographic characteristics battery and its questions.

use serde::Deserialize;
use strata::data::{Context, DataMigration, DataResult};

use crate::schema::questions::{Batteries, NewBatteries, NewQuestions, Questions};

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
        // Every column is a field: a column renamed or retyped in schemas/ stops the build here.
        let battery = NewBatteries {
            id: None,
            name: data.battery.name,
            prefix: data.battery.prefix,
        };
        let battery = cx.insert_returning(&battery, Batteries::ID).await?;
        let questions: Vec<NewQuestions> = data
            .questions
            .into_iter()
            .map(|question| NewQuestions {
                id: None,
                battery_id: battery,
                code: question.code,
                text: question.text,
                created_at: None,
            })
            .collect();
        cx.insert_many(&questions).await?;
        Ok(())
    }

    async fn down(&self, cx: &mut Context<'_>) -> DataResult {
        let battery = cx
            .query_opt(
                "SELECT id FROM questions.batteries WHERE name = $1",
                &[&BATTERY],
            )
            .await?;
        if let Some(battery) = battery {
            cx.delete_by(Questions::BATTERY_ID, &battery.get(0)).await?;
        }
        cx.delete_by(Batteries::NAME, &BATTERY.to_owned()).await?;
        Ok(())
    }
}
