"""The benchmark data, as SQL run once per bench database (bench/seed.py).

Bulk INSERT … SELECT over generate_series: a million rows in seconds, with the
PostgreSQL triggers and constraints running as in production. Children are inserted
while their postmortems are drafts, which are then made final in one UPDATE (the
immutability triggers refuse rows added to a final postmortem).
"""

SUMMARIES = [
    "Position limit ignored pending orders and the account went over its cap",
    "Inference silently fell back to heuristics when the model failed to load",
    "A deployment left the trading rules disabled for a whole session",
    "Prescreening produced constant scores after a feature list drifted",
    "The launcher died during a heartbeat blip and orphaned a long training run",
    "An HPO sweep trained on a stale image and wasted the night's budget",
]

EVENTS = [
    "Alert fired on the order router", "On-call acknowledged the page",
    "Trace replay found the first bad order", "Rollback started", "Rollback finished",
    "Positions reconciled against the broker",
]

FIXES = [
    "A watchdog now checks pending orders before each trade.",
    "The model loader fails the job instead of falling back to heuristics.",
    "The deploy script compares the live rules with the reviewed ones.",
    "The launcher writes its heartbeat to Redis and a watchdog restarts it.",
]
FACTORS = [
    "The pre-trade check read filled positions but not pending orders",
    "The fallback path caught the exception and returned a default",
    "Nothing compared the deployed rules with the reviewed ones",
]

SEED_USERS_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined)
SELECT '!', false, 'owner' || n, '', '', 'owner' || n || '@example.com', false, true, now()
FROM generate_series(1, 50) AS n ON CONFLICT (username) DO NOTHING
"""

SEED_POSTMORTEMS_SQL = """
INSERT INTO incidents_postmortem (id, created_utc, status, origin, template, occurred_utc,
    trigger, trigger_reason, summary, root_cause, fix_commit_sha, fix_description,
    fix_ticket_link, prevention, impact_usd, impact_description, what_went_well,
    what_went_wrong, lessons_learned, owner_sentiment, owner_sentiment_by, updated_utc,
    severity)
SELECT gen_random_uuid(), ts, 'draft', 'import', 'seven-field', ts - interval '2 hours',
    'provider_outage', '', (%(summaries)s::text[])[1 + n %% 6] || ' (run ' || n || ').',
    (ARRAY['cost','correctness','compliance','security','operational'])[1 + n %% 5],
    substr(md5(n::text), 1, 12), (%(fixes)s::text[])[1 + n %% 4], '',
    'A separate check compares the deployed rules with the reviewed ones on every deploy.',
    round((n %% 5000)::numeric * 3.7, 2), '', '', '', '', '', '', ts,
    'SEV' || (1 + n %% 5)
FROM (SELECT n, timestamptz '2021-11-20' + (n::float / %(count)s) * interval '1826 days' AS ts
      FROM generate_series(1, %(count)s) AS n) AS s
"""

SEED_CHILDREN_SQL = """
INSERT INTO incidents_timelineentry (postmortem_id, position, utc, event, trace_id)
SELECT id, p, occurred_utc + p * interval '7 minutes', (%(events)s::text[])[p],
       'trace-' || substr(md5(id::text || p), 1, 10)
FROM incidents_postmortem CROSS JOIN generate_series(1, 6) AS p WHERE status = 'draft';
INSERT INTO incidents_contributingfactor (postmortem_id, position, text, substitution,
    blameless_reviewed_text)
SELECT id, p, (%(factors)s::text[])[p], 'structural', ''
FROM incidents_postmortem CROSS JOIN generate_series(1, 3) AS p WHERE status = 'draft';
INSERT INTO incidents_reference (postmortem_id, position, kind, value)
SELECT id, p, (ARRAY['trace_id','commit','pr'])[p],
       (ARRAY['trace-' || substr(md5(id::text), 1, 10), substr(md5(id::text), 1, 12),
              'https://git.example.com/trading/pull/' || (abs(hashtext(id::text)) %% 9000)])[p]
FROM incidents_postmortem CROSS JOIN generate_series(1, 3) AS p WHERE status = 'draft';
INSERT INTO incidents_classification (postmortem_id, domain, tags, set_utc)
SELECT id, 'domain-' || (abs(hashtext(id::text)) %% 20), '[]', created_utc
FROM incidents_postmortem WHERE status = 'draft';
"""
FINALIZE_SQL = """
UPDATE incidents_postmortem SET status = 'final', finalized_utc = created_utc
WHERE status = 'draft'
"""

SEED_ITEMS_SQL = """
INSERT INTO incidents_actionitem (postmortem_id, kind, description, owner_id, due_date, status,
    drop_reason, evidence, created_utc, updated_utc, evidence_lapsed)
SELECT pm.id, (ARRAY['rule','hook','test','criterion','memory'])[1 + k %% 5],
    'Ship the fix for run ' || k, owners.ids[1 + k %% 50],
    CASE WHEN k %% 15 = 0 THEN current_date - (k %% 30) - 1 ELSE current_date + (k %% 60) END,
    CASE WHEN k %% 5 = 0 THEN 'open' WHEN k %% 97 = 0 THEN 'dropped' ELSE 'shipped' END,
    CASE WHEN k %% 5 <> 0 AND k %% 97 = 0 THEN 'Superseded' ELSE '' END,
    CASE WHEN k %% 5 = 0 OR k %% 97 = 0 THEN '{}'::jsonb
         ELSE '{"rules_file": "rules/x.md", "hook_file": "hooks/x.py",
                "commit_sha": "3f9c2ab"}'::jsonb END,
    now(), now(), ''
FROM (SELECT k, 1 + (k - 1) %% %(postmortems)s AS pm_n FROM generate_series(1, %(items)s) AS k) AS s
JOIN (SELECT id, row_number() OVER (ORDER BY created_utc) AS pm_n FROM incidents_postmortem) AS pm
    USING (pm_n)
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user WHERE username LIKE 'owner%%')
    AS owners
"""

TITLES = [
    "Silent fallback to heuristics in inference", "Deployment left trading rules disabled",
    "Prescreening produced constant scores", "Feature list diverged between train and serve",
    "Position limit ignored pending orders", "Training entry point used for inference",
    "HPO sweep ran on a stale image", "Endpoint left running over the weekend",
]

SEED_ENTRIES_SQL = """
INSERT INTO costlog_mishapentry (occurred_utc, logged_zone, title, what_happened, root_cause,
    root_cause_items, resources_affected, duration, cost_low_usd, cost_high_usd,
    cost_approximate, cost_note, near_miss, prevention_items, correction_reason, origin,
    created_utc)
SELECT ts, 'ET', (%(titles)s::text[])[1 + g %% 8] || ' (run ' || g || ')',
    'Jobs ran for ' || (g %% 90) || ' minutes before anyone noticed the identical results.',
    'An exception was caught and replaced by a default; nobody checked the output.',
    '["first failure", "second failure"]', 'SageMaker Training (ml.m5.xlarge)', '~20 minutes',
    CASE WHEN near THEN 0 ELSE low END,
    CASE WHEN near THEN 0 ELSE round(low * (1 + r2)::numeric, 2) END,
    NOT near, '', near, '["Fail fast", "Verify outputs"]', '', 'import', ts
FROM (
    SELECT g, timestamptz '2021-11-20' + random() * interval '1826 days' AS ts,
           random() < 0.05 AS near, round(exp(random() * 8)::numeric, 2) AS low, random() AS r2
    FROM generate_series(1, %(count)s) AS g
) AS s
"""

# Run per 100,000 ids: one statement queuing millions of deferred foreign-key checks
# slows down far more than linearly.
SEED_PATTERNS_SQL = """
INSERT INTO costlog_entrypattern (entry_id, pattern_id, position)
SELECT id, (%(patterns)s::bigint[])[1 + id %% 6], 1 FROM costlog_mishapentry
WHERE id > %(after)s AND id <= %(after)s + 100000;
INSERT INTO costlog_entrypattern (entry_id, pattern_id, position)
SELECT id, (%(patterns)s::bigint[])[1 + (id %% 6 + 1 + id %% 5) %% 6], 2
FROM costlog_mishapentry WHERE id %% 10 < 3 AND id > %(after)s AND id <= %(after)s + 100000;
"""

SEED_CORRECTIONS_SQL = """
WITH corrected AS (
    INSERT INTO costlog_mishapentry (occurred_utc, logged_zone, title, what_happened, root_cause,
        root_cause_items, resources_affected, duration, cost_low_usd, cost_high_usd,
        cost_approximate, cost_note, near_miss, prevention_items, corrects_id,
        correction_reason, origin, created_utc)
    SELECT occurred_utc, logged_zone, title, what_happened, root_cause, root_cause_items,
        resources_affected, duration, cost_low_usd * 2, cost_high_usd * 2, cost_approximate,
        cost_note, near_miss, prevention_items, id, 'Invoice arrived', 'form', now()
    FROM costlog_mishapentry WHERE id % 100 = 0 AND corrects_id IS NULL
    RETURNING id, corrects_id
)
INSERT INTO costlog_entrypattern (entry_id, pattern_id, position)
SELECT corrected.id, link.pattern_id, link.position
FROM corrected JOIN costlog_entrypattern AS link ON link.entry_id = corrected.corrects_id;
"""
