DELETE FROM analytics.events WHERE name = 'survey_launched';
