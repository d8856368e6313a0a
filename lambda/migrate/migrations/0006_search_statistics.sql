-- 0006: finer statistics on the columns the API's `q` search matches with ILIKE '%term%'.
--
-- A search is `... WHERE <col> ILIKE $q OR ... ORDER BY <sort>, id LIMIT n`. PostgreSQL chooses
-- between two plans: walk the (sort key, id) index of 0004 and filter until n rows matched, or
-- collect every match through the pg_trgm GIN indexes of 0002 and sort them. The walk is fast for
-- common terms and a full-index scan for rare ones (a term matching 0.1 % of 100k contacts walked
-- ~40 % of the index: 40-120 ms instead of 1-2 ms through the trigram indexes). The choice rests
-- on the estimated number of matches, which for '%term%' comes from how many histogram entries
-- match. With the default 100 entries a rare term hits 0 or 1 entry depending on ANALYZE's sample,
-- so the plan flipped between runs. 500 entries make the estimate stable (measured: the same plan
-- for every benchmark term across repeated ANALYZEs) for ~0.3 ms more planning per search; 1000
-- cost ~1 ms of planning.
--
-- SET STATISTICS takes a SHARE UPDATE EXCLUSIVE lock (reads and writes continue) and rewrites
-- nothing; the ANALYZEs apply the new targets now instead of at the next autoanalyze.
ALTER TABLE crm.contacts
  ALTER COLUMN first_name SET STATISTICS 500,
  ALTER COLUMN last_name SET STATISTICS 500,
  ALTER COLUMN email SET STATISTICS 500;
ALTER TABLE crm.companies
  ALTER COLUMN name SET STATISTICS 500,
  ALTER COLUMN domain SET STATISTICS 500;
ALTER TABLE crm.deals ALTER COLUMN name SET STATISTICS 500;
ALTER TABLE crm.activities ALTER COLUMN subject SET STATISTICS 500;
ANALYZE crm.contacts;
ANALYZE crm.companies;
ANALYZE crm.deals;
ANALYZE crm.activities;
