-- The event that marks the survey's launch, for dashboards that count from it.
INSERT INTO analytics.events (name, payload) VALUES ('survey_launched', '{"version": 1}');
