-- Candidate "json" (bench/outbox_candidates.sh; not a migration): payload and headers stored as json,
-- the text as written, so the claim's ::text costs nothing (jsonb's binary send format is its text
-- output too). jsonb values still insert (assignment cast); jsonb-only functions and operators on
-- outbox.payload (jsonb_set, @>, ?) no longer apply; rewrites the table.
ALTER TABLE outbox ALTER COLUMN payload TYPE json, ALTER COLUMN headers TYPE json, ALTER COLUMN headers SET DEFAULT '{}'::json;
