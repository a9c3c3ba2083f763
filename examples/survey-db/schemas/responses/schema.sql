-- Survey responses: who answered, and their answers to questions of the question bank.
CREATE SCHEMA responses;

CREATE TABLE responses.respondents (
    id serial PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    cohort text
);

CREATE TABLE responses.answers (
    id bigserial PRIMARY KEY,
    respondent_id integer NOT NULL REFERENCES responses.respondents (id),
    question_id integer NOT NULL REFERENCES questions.questions (id),
    value text NOT NULL
);
