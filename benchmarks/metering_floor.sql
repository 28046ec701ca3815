-- The floor for pricing/metering/meters.py: one month's tenant metrics of the bundled catalogs, written by
-- hand in DuckDB SQL from the meter specs in pricing/catalogs/*.yaml (license_jp mau, logto tokens,
-- quasr maa/mac/mat; prepaid_auth meters nothing). benchmarks/bench_metering.py times the project's
-- Ibis query against it on the same Parquet; tests/test_metering.py checks both give the same numbers.
--
-- Inputs: a table or view `events` (pricing.metering.events.EVENT_COLUMNS; "timestamp" zoned or plain UTC),
-- a table `customers` (customer_id, catalog), and the month's bounds as $start and $end.
--
-- Why two steps: the qualifying calls are counted per account first, so the distinct accounts of a
-- tenant are the accounts with a non-zero count. One hash aggregation over the events, where
-- count(DISTINCT account_id) FILTER (...) builds a hash table per distinct metric (measured: about
-- twice the CPU; BENCHMARKS.md, "Metering: the SQL floor").
WITH per_account AS (
    SELECT
        e.customer_id, e.tenant_id, c.catalog, e.account_id,
        count(e.account_id) FILTER (WHERE c.catalog = 'license_jp'
            AND method = 'POST' AND endpoint = 'auth/login' AND account_kind = 'user'
            AND status BETWEEN 200 AND 299) AS logins,
        count(e.account_id) FILTER (WHERE c.catalog = 'logto'
            AND method = 'POST' AND endpoint = 'oidc/token' AND account_kind IN ('user', 'client')
            AND status BETWEEN 200 AND 299) AS tokens,
        count(e.account_id) FILTER (WHERE c.catalog = 'quasr'
            AND (   (method = 'POST' AND endpoint = 'factors/login' AND account_kind IN ('user', 'client'))
                 OR (method = 'GET' AND endpoint = 'controls/consent' AND account_kind IN ('user', 'client'))
                 OR (method = 'GET' AND endpoint = 'oauth2/authorize' AND account_kind = 'client')
                 OR (method = 'POST' AND endpoint = 'oauth2/token' AND account_kind = 'client')
                 OR (method = 'POST' AND endpoint = 'graphql' AND account_kind IN ('user', 'client')))
            AND status BETWEEN 200 AND 299) AS quasr_calls
    FROM events AS e
    JOIN customers AS c USING (customer_id)
    WHERE e."timestamp" >= $start AND e."timestamp" < $end
    GROUP BY e.customer_id, e.tenant_id, c.catalog, e.account_id
)
SELECT
    customer_id, tenant_id, catalog,
    count(*) FILTER (WHERE logins > 0) AS license_jp__mau,
    sum(tokens) AS logto__tokens,
    count(*) FILTER (WHERE quasr_calls > 0) AS quasr__maa,
    sum(quasr_calls) AS quasr__mac,
    -- a tenant is active when its MAA or MAC is non-zero: both count the same calls
    CAST(max(quasr_calls) > 0 AS BIGINT) AS quasr__mat
FROM per_account
GROUP BY customer_id, tenant_id, catalog
ORDER BY customer_id, tenant_id
