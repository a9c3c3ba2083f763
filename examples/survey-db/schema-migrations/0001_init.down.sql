-- 0001_init.down.sql: written by `strata generate`: undoes 0001_init.sql (the schema after it back to the
-- schema before it), verified on a copy of the history. `strata rollback` runs it. Review it too.
--
-- Changes:
--   DROP TABLE "analytics"."events"
--   ALTER TABLE "questions"."questions" DROP CONSTRAINT "questions_battery_id_fkey"
--   DROP TABLE "questions"."batteries"
--   ALTER TABLE "responses"."answers" DROP CONSTRAINT "answers_question_id_fkey"
--   DROP TABLE "questions"."questions"
--   ALTER TABLE "responses"."answers" DROP CONSTRAINT "answers_respondent_id_fkey"
--   DROP TABLE "responses"."answers"
--   DROP TABLE "responses"."respondents"
--   DROP SCHEMA "analytics"
--   DROP SCHEMA "questions"
--   DROP SCHEMA "responses"
-- Hazards (rolling back loses what these objects hold; `strata rollback` counts the rows and asks):
--   deletes data (analytics.events)
--   cannot be undone (analytics.events)
--   deletes data (questions.batteries)
--   cannot be undone (questions.batteries)
--   deletes data (questions.questions)
--   cannot be undone (questions.questions)
--   deletes data (responses.answers)
--   cannot be undone (responses.answers)
--   deletes data (responses.respondents)
--   cannot be undone (responses.respondents)

-- hazard: deletes data, cannot be undone
DROP TABLE "analytics"."events";

ALTER TABLE "questions"."questions" DROP CONSTRAINT "questions_battery_id_fkey";

-- hazard: deletes data, cannot be undone
DROP TABLE "questions"."batteries";

ALTER TABLE "responses"."answers" DROP CONSTRAINT "answers_question_id_fkey";

-- hazard: deletes data, cannot be undone
DROP TABLE "questions"."questions";

ALTER TABLE "responses"."answers" DROP CONSTRAINT "answers_respondent_id_fkey";

-- hazard: deletes data, cannot be undone
DROP TABLE "responses"."answers";

-- hazard: deletes data, cannot be undone
DROP TABLE "responses"."respondents";

DROP SCHEMA "analytics";

DROP SCHEMA "questions";

DROP SCHEMA "responses";
