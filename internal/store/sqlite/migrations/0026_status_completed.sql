-- Version 26: a status expires a retention after its addition completed, not after
-- it was requested (TAXII 2.1 §4.3: kept at least 24 hours after the server has
-- finished processing), and never while it is pending: a background addition that
-- waited longer than the retention lost its status, and then its objects (the job
-- found no status and ended). Statuses completed before this version keep their
-- request time as the time they completed.
ALTER TABLE statuses ADD COLUMN completed TEXT;
DROP INDEX statuses_requested;
CREATE INDEX statuses_expiry ON statuses (coalesce(completed, requested)) WHERE done;
