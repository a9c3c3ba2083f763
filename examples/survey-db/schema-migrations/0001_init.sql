-- 0001_init.sql: written by `strata generate` from the declared schema. Review it before you commit it.
--
-- Changes:
--   CREATE SCHEMA "analytics"
--   CREATE SCHEMA "questions"
--   CREATE SCHEMA "responses"
--   CREATE SEQUENCE "questions"."batteries_id_seq" AS integer
--   CREATE SEQUENCE "questions"."questions_id_seq" AS integer
--   CREATE SEQUENCE "responses"."answers_id_seq"
--   CREATE SEQUENCE "responses"."respondents_id_seq" AS integer
--   CREATE TABLE "analytics"."events" (
--   CREATE INDEX events_name_at ON analytics.events USING btree (name, at)
--   CREATE TABLE "questions"."batteries" (
--   ALTER SEQUENCE "questions"."batteries_id_seq" OWNED BY "questions"."batteries"."id"
--   CREATE TABLE "questions"."questions" (
--   ALTER SEQUENCE "questions"."questions_id_seq" OWNED BY "questions"."questions"."id"
--   ALTER TABLE "questions"."questions" ADD CONSTRAINT "questions_battery_id_fkey" FOREIGN KEY (battery_
--   CREATE TABLE "responses"."answers" (
--   ALTER SEQUENCE "responses"."answers_id_seq" OWNED BY "responses"."answers"."id"
--   ALTER TABLE "responses"."answers" ADD CONSTRAINT "answers_question_id_fkey" FOREIGN KEY (question_id
--   CREATE TABLE "responses"."respondents" (
--   ALTER SEQUENCE "responses"."respondents_id_seq" OWNED BY "responses"."respondents"."id"
--   ALTER TABLE "responses"."answers" ADD CONSTRAINT "answers_respondent_id_fkey" FOREIGN KEY (responden
-- Hazards: none.

CREATE SCHEMA "analytics";

CREATE SCHEMA "questions";

CREATE SCHEMA "responses";

CREATE SEQUENCE "questions"."batteries_id_seq" AS integer;

CREATE SEQUENCE "questions"."questions_id_seq" AS integer;

CREATE SEQUENCE "responses"."answers_id_seq";

CREATE SEQUENCE "responses"."respondents_id_seq" AS integer;

CREATE TABLE "analytics"."events" (
    "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    "name" text NOT NULL,
    "at" timestamp with time zone DEFAULT now() NOT NULL,
    "payload" jsonb,
    CONSTRAINT "events_pkey" PRIMARY KEY (id)
);

CREATE INDEX events_name_at ON analytics.events USING btree (name, at);

CREATE TABLE "questions"."batteries" (
    "id" integer DEFAULT nextval('questions.batteries_id_seq'::regclass) NOT NULL,
    "name" text NOT NULL,
    "prefix" text NOT NULL,
    CONSTRAINT "batteries_name_key" UNIQUE (name),
    CONSTRAINT "batteries_pkey" PRIMARY KEY (id)
);

ALTER SEQUENCE "questions"."batteries_id_seq" OWNED BY "questions"."batteries"."id";

CREATE TABLE "questions"."questions" (
    "id" integer DEFAULT nextval('questions.questions_id_seq'::regclass) NOT NULL,
    "battery_id" integer NOT NULL,
    "code" text NOT NULL,
    "text" text NOT NULL,
    "created_at" timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT "questions_battery_id_code_key" UNIQUE (battery_id, code),
    CONSTRAINT "questions_pkey" PRIMARY KEY (id)
);

ALTER SEQUENCE "questions"."questions_id_seq" OWNED BY "questions"."questions"."id";

ALTER TABLE "questions"."questions" ADD CONSTRAINT "questions_battery_id_fkey" FOREIGN KEY (battery_id) REFERENCES questions.batteries(id);

CREATE TABLE "responses"."answers" (
    "id" bigint DEFAULT nextval('responses.answers_id_seq'::regclass) NOT NULL,
    "respondent_id" integer NOT NULL,
    "question_id" integer NOT NULL,
    "value" text NOT NULL,
    CONSTRAINT "answers_pkey" PRIMARY KEY (id)
);

ALTER SEQUENCE "responses"."answers_id_seq" OWNED BY "responses"."answers"."id";

ALTER TABLE "responses"."answers" ADD CONSTRAINT "answers_question_id_fkey" FOREIGN KEY (question_id) REFERENCES questions.questions(id);

CREATE TABLE "responses"."respondents" (
    "id" integer DEFAULT nextval('responses.respondents_id_seq'::regclass) NOT NULL,
    "external_id" text NOT NULL,
    "cohort" text,
    CONSTRAINT "respondents_external_id_key" UNIQUE (external_id),
    CONSTRAINT "respondents_pkey" PRIMARY KEY (id)
);

ALTER SEQUENCE "responses"."respondents_id_seq" OWNED BY "responses"."respondents"."id";

ALTER TABLE "responses"."answers" ADD CONSTRAINT "answers_respondent_id_fkey" FOREIGN KEY (respondent_id) REFERENCES responses.respondents(id);
