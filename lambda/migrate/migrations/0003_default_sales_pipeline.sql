-- 0003: seed the default sales pipeline. Probabilities are percentages; the closed stages end a
-- deal (Won counts as won).

WITH pipeline AS (
  INSERT INTO crm.pipelines (name, is_default) VALUES ('Sales', true) RETURNING id
)
INSERT INTO crm.pipeline_stages (pipeline_id, name, position, probability, is_closed, is_won)
SELECT pipeline.id, stage.name, stage.position, stage.probability, stage.is_closed, stage.is_won
FROM pipeline
CROSS JOIN (
  VALUES
    ('Lead', 1, 10, false, false),
    ('Qualified', 2, 25, false, false),
    ('Proposal', 3, 50, false, false),
    ('Negotiation', 4, 75, false, false),
    ('Won', 5, 100, true, true),
    ('Lost', 6, 0, true, false)
) AS stage (name, position, probability, is_closed, is_won);
