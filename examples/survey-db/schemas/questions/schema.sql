-- The question bank: batteries of questions, each question in one battery.
CREATE SCHEMA questions;

CREATE TABLE questions.batteries (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    prefix text NOT NULL
);

CREATE TABLE questions.questions (
    id serial PRIMARY KEY,
    battery_id integer NOT NULL REFERENCES questions.batteries (id),
    code text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (battery_id, code)
);
