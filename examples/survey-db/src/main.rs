//! strata's command line with the survey database's data migrations.

fn main() -> std::process::ExitCode {
    strata::cli::run(survey_db::registry())
}
