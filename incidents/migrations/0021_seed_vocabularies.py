"""Load the seed's vocabularies as rows: the seven trigger conditions, the severity levels
SEV1–SEV5, and the default scan question set with its twenty questions; answers already
given on drafts are linked to their question, with the wording they were answered against.

The data is copied here, not imported from the application (incidents.failure_modes,
incidents.vocabulary): a later change of the application's lists must not change what
this migration did. Rows of final records are left alone (they are immutable; their slug
names a question of the default set).
"""
from django.db import migrations

DEFAULT_SET = 'llm-trading'
DEFAULT_SET_NAME = "LLM-driven trading systems (the seed's twenty)"

TRIGGERS = [('drawdown', 'Daily drawdown threshold breached'),
 ('thesis_invalidation', 'Thesis invalidation without position exit'),
 ('unapproved_execution', 'Execution the operator would not have approved'),
 ('token_overrun', 'Token budget overrun of 5x or more'),
 ('injection', 'Prompt injection or schema violation'),
 ('provider_outage', 'Provider outage or rate-limit cascade'),
 ('other', 'Other (reason given)')]

SEVERITIES = [('SEV1', 'SEV1 — critical', 'Money lost or trading halted; every user affected.'),
 ('SEV2', 'SEV2 — major', 'A core flow failed or a loss limit was breached.'),
 ('SEV3', 'SEV3 — moderate', 'Degraded service or a contained loss; a workaround exists.'),
 ('SEV4', 'SEV4 — minor', 'A small, contained fault with little or no cost.'),
 ('SEV5', 'SEV5 — near-miss', 'Nothing was lost; a control caught it, or luck did.')]

# (slug, number, name, question, factor, revealing answer)
QUESTIONS = [
    ('price_blind_leak',
     1,
     'Price-blind leak',
     ('Did the research prompt contain the current price, a percentage move, or '
      'position-state language?'),
     ('Price-blind leak: the research prompt carried price or position-state '
      'language; no audit strips it before research'),
     'yes'),
    ('numeric_fabrication',
     2,
     'Numeric fabrication',
     ('Did the model output any number that cannot be traced to a verified source '
      'document?'),
     ('Numeric fabrication: model output numbers are not checked against verified '
      'source documents'),
     'yes'),
    ('prompt_drift',
     3,
     'Prompt drift',
     ('Did the system prompt, tool schema, or retrieval template change between the '
      'research run and the execution run?'),
     ('Prompt drift: the prompt, tool schema or retrieval template changed between '
      'research and execution without a check'),
     'yes'),
    ('token_runaway',
     4,
     'Token runaway',
     'Did the loop hit its token budget, or exceed 2x the planned spend?',
     'Token runaway: no hard token budget stops the loop at 2x planned spend',
     'yes'),
    ('audit_amnesia',
     5,
     'Audit amnesia',
     ('Is the trace_id log complete, with prompts, tool calls, model outputs, and the'
      ' executed trade all retrievable?'),
     ('Audit amnesia: the trace_id log does not retain prompts, tool calls, outputs '
      'and the executed trade'),
     'no'),
    ('cache_poisoning',
     6,
     'Cache poisoning',
     ('Did the research read from a cache that contained content written by a prior '
      'compromised or degraded run?'),
     'Cache poisoning: cached content from a degraded run is not invalidated',
     'yes'),
    ('tool_result_injection',
     7,
     'Tool-result injection',
     ('Did any retrieved news item, filing, or transcript contain text that attempted'
      ' to steer the model (instruction-like language, suspicious URLs, schema-'
      'coercing tokens)?'),
     ('Tool-result injection: retrieved documents are not screened for instruction-'
      'like text before the model reads them'),
     'yes'),
    ('rate_limit_degradation',
     8,
     'Rate-limit degradation',
     ('Did the provider return 429 or throttling responses that caused the agent to '
      'auto-downshift to a weaker model or skip a validation step?'),
     ('Rate-limit degradation: throttling lets the agent downshift models or skip '
      'validation without an alert'),
     'yes'),
    ('fallback_schema_mismatch',
     9,
     'Fallback schema mismatch',
     ('If a fallback provider was invoked, did its response schema match the primary '
      "provider's, or did downstream validators silently accept degraded structure?"),
     ("Fallback schema mismatch: validators accept a fallback provider's degraded "
      'structure silently'),
     'yes'),
    ('schema_version_drift',
     10,
     'Schema-version drift',
     ('Did the prompt or output schema change mid-batch without a version bump in the'
      ' trace record?'),
     ('Schema-version drift: schema changes mid-batch are not versioned in the trace '
      'record'),
     'yes'),
    ('unit_gaap_confusion',
     11,
     'Unit or GAAP confusion',
     ('Did the agent misread thousands as units, millions as thousands, or mix '
      'accounting standards across reporting periods?'),
     ('Unit or GAAP confusion: no unit or accounting-standard check on extracted '
      'figures'),
     'yes'),
    ('restatement_blindness',
     12,
     'Restatement blindness',
     ('Was prior-year data restated in a later filing, and did the agent use the '
      'original rather than the restated figure?'),
     ('Restatement blindness: the pipeline does not prefer restated figures over '
      'originals'),
     'yes'),
    ('timestamp_error',
     13,
     'Timestamp error',
     ('Was the news item, quote, or filing used in research stale by more than the '
      "strategy's decay window?"),
     "Timestamp error: no staleness check against the strategy's decay window",
     'yes'),
    ('dedup_failure',
     14,
     'Dedup failure',
     ('Did the research ingest many copies of the same wire story, inflating '
      'conviction by repetition rather than independent confirmation?'),
     ('Dedup failure: duplicate wire stories are not collapsed before they count as '
      'confirmation'),
     'yes'),
    ('calibration_drift',
     15,
     'Calibration drift',
     ('Did probability estimates shift systematically after a model upgrade, without '
      'the calibrator being retrained?'),
     ('Calibration drift: a model upgrade does not require the calibrator to be '
      'retrained'),
     'yes'),
    ('convergence_gate_miscalibration',
     16,
     'Convergence gate miscalibration',
     ('Did the research loop halt on a weak convergence signal, or conversely, run '
      'long past a confident answer?'),
     ("Convergence gate miscalibration: the loop's convergence threshold is not tuned"
      ' or tested'),
     'yes'),
    ('after_hours_boundary_miss',
     17,
     'After-hours boundary miss',
     ('Did the thesis fail to account for an earnings release or macro print that '
      'landed outside regular hours?'),
     ('After-hours boundary miss: the thesis check ignores events outside regular '
      'hours'),
     'yes'),
    ('thinking_token_tax',
     18,
     'Thinking-token tax',
     ('Did the agent expend extended-thinking tokens on a task that did not require '
      'them, inflating cost without improving output?'),
     'Thinking-token tax: extended thinking is enabled for tasks that do not need it',
     'yes'),
    ('research_diary_gap',
     19,
     'Research-diary gap',
     ('Was the record of rejected ideas written, or does only the accepted idea '
      'survive?'),
     'Research-diary gap: rejected ideas are not recorded',
     'no'),
    ('cost_attribution_drift',
     20,
     'Cost attribution drift',
     ('Was the cache-write amortization computed correctly, or did a single write get'
      ' charged against a single read instead of many?'),
     'Cost attribution drift: cache-write amortization is not checked',
     'no'),
]


def load(apps, schema_editor):
    TriggerCondition = apps.get_model("incidents", "TriggerCondition")
    Severity = apps.get_model("incidents", "Severity")
    QuestionSet = apps.get_model("incidents", "QuestionSet")
    ScanQuestion = apps.get_model("incidents", "ScanQuestion")
    ScanAnswer = apps.get_model("incidents", "ScanAnswer")
    for position, (slug, label) in enumerate(TRIGGERS, start=1):
        TriggerCondition.objects.get_or_create(slug=slug, defaults={
            "label": label, "position": position, "requires_reason": slug == "other"})
    for rank, (code, label, description) in enumerate(SEVERITIES, start=1):
        Severity.objects.get_or_create(code=code, defaults={
            "label": label, "description": description, "rank": rank})
    question_set, _ = QuestionSet.objects.get_or_create(slug=DEFAULT_SET, defaults={
        "name": DEFAULT_SET_NAME, "is_default": True,
        "description": "Recurring failure modes of an LLM-driven research and trading loop."})
    for slug, number, name, question, factor, failure_answer in QUESTIONS:
        row, _ = ScanQuestion.objects.get_or_create(
            question_set=question_set, slug=slug,
            defaults={"number": number, "name": name, "question": question, "factor": factor,
                      "failure_answer": failure_answer})
        ScanAnswer.objects.filter(mode=slug, question__isnull=True,
                                  postmortem__status="draft").update(
            question=row, question_name=name, question_text=question)


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0020_vocabularies_as_data"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
