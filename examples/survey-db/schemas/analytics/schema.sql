-- Product analytics events.
CREATE SCHEMA analytics;

CREATE TABLE analytics.events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    payload jsonb
);

CREATE INDEX events_name_at ON analytics.events (name, at);
