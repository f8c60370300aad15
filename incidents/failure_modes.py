"""The seed's twenty failure-mode scan questions: the default question set's contents.

Rule: docs/rules.md#scan-questions:
the operator reads the questions and answers each yes, no or not-applicable; a revealing
answer becomes a contributing factor (and potentially the root cause). The questions are
data (incidents.models.ScanQuestion, admin-editable, in sets); FAILURE_MODES is the
default set as the seed words it, which migration 0019 loaded (from its own copy) and
incidents.vocabulary.seed_defaults re-creates where missing. `factor` is the system
condition a revealing answer suggests as a contributing factor, phrased as a missing
control (docs/rules.md#blameless-flagged).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class FailureMode:
    """One scan question: slug (stable key in exports), number 1–20, name, question, factor.

    failure_answer is the answer that reveals the failure mode: "yes" for seventeen
    questions; "no" for the three the seed phrases as a health check (5 audit amnesia
    "Is the trace_id log complete…", 19 research-diary gap, 20 cost attribution drift).
    That answer is the one the scan offers to turn into a contributing factor.
    """

    slug: str
    number: int
    name: str
    question: str
    factor: str
    failure_answer: str = "yes"


FAILURE_MODES = [
    FailureMode("price_blind_leak", 1, "Price-blind leak",
                "Did the research prompt contain the current price, a percentage move, or "
                "position-state language?",
                "Price-blind leak: the research prompt carried price or position-state language; "
                "no audit strips it before research"),
    FailureMode("numeric_fabrication", 2, "Numeric fabrication",
                "Did the model output any number that cannot be traced to a verified source "
                "document?",
                "Numeric fabrication: model output numbers are not checked against verified "
                "source documents"),
    FailureMode("prompt_drift", 3, "Prompt drift",
                "Did the system prompt, tool schema, or retrieval template change between the "
                "research run and the execution run?",
                "Prompt drift: the prompt, tool schema or retrieval template changed between "
                "research and execution without a check"),
    FailureMode("token_runaway", 4, "Token runaway",
                "Did the loop hit its token budget, or exceed 2x the planned spend?",
                "Token runaway: no hard token budget stops the loop at 2x planned spend"),
    FailureMode("audit_amnesia", 5, "Audit amnesia",
                "Is the trace_id log complete, with prompts, tool calls, model outputs, and the "
                "executed trade all retrievable?",
                "Audit amnesia: the trace_id log does not retain prompts, tool calls, outputs and "
                "the executed trade", "no"),
    FailureMode("cache_poisoning", 6, "Cache poisoning",
                "Did the research read from a cache that contained content written by a prior "
                "compromised or degraded run?",
                "Cache poisoning: cached content from a degraded run is not invalidated"),
    FailureMode("tool_result_injection", 7, "Tool-result injection",
                "Did any retrieved news item, filing, or transcript contain text that attempted "
                "to steer the model (instruction-like language, suspicious URLs, schema-coercing "
                "tokens)?",
                "Tool-result injection: retrieved documents are not screened for instruction-like "
                "text before the model reads them"),
    FailureMode("rate_limit_degradation", 8, "Rate-limit degradation",
                "Did the provider return 429 or throttling responses that caused the agent to "
                "auto-downshift to a weaker model or skip a validation step?",
                "Rate-limit degradation: throttling lets the agent downshift models or skip "
                "validation without an alert"),
    FailureMode("fallback_schema_mismatch", 9, "Fallback schema mismatch",
                "If a fallback provider was invoked, did its response schema match the primary "
                "provider's, or did downstream validators silently accept degraded structure?",
                "Fallback schema mismatch: validators accept a fallback provider's degraded "
                "structure silently"),
    FailureMode("schema_version_drift", 10, "Schema-version drift",
                "Did the prompt or output schema change mid-batch without a version bump in the "
                "trace record?",
                "Schema-version drift: schema changes mid-batch are not versioned in the trace "
                "record"),
    FailureMode("unit_gaap_confusion", 11, "Unit or GAAP confusion",
                "Did the agent misread thousands as units, millions as thousands, or mix "
                "accounting standards across reporting periods?",
                "Unit or GAAP confusion: no unit or accounting-standard check on extracted "
                "figures"),
    FailureMode("restatement_blindness", 12, "Restatement blindness",
                "Was prior-year data restated in a later filing, and did the agent use the "
                "original rather than the restated figure?",
                "Restatement blindness: the pipeline does not prefer restated figures over "
                "originals"),
    FailureMode("timestamp_error", 13, "Timestamp error",
                "Was the news item, quote, or filing used in research stale by more than the "
                "strategy's decay window?",
                "Timestamp error: no staleness check against the strategy's decay window"),
    FailureMode("dedup_failure", 14, "Dedup failure",
                "Did the research ingest many copies of the same wire story, inflating conviction "
                "by repetition rather than independent confirmation?",
                "Dedup failure: duplicate wire stories are not collapsed before they count as "
                "confirmation"),
    FailureMode("calibration_drift", 15, "Calibration drift",
                "Did probability estimates shift systematically after a model upgrade, without "
                "the calibrator being retrained?",
                "Calibration drift: a model upgrade does not require the calibrator to be "
                "retrained"),
    FailureMode("convergence_gate_miscalibration", 16, "Convergence gate miscalibration",
                "Did the research loop halt on a weak convergence signal, or conversely, run long "
                "past a confident answer?",
                "Convergence gate miscalibration: the loop's convergence threshold is not tuned "
                "or tested"),
    FailureMode("after_hours_boundary_miss", 17, "After-hours boundary miss",
                "Did the thesis fail to account for an earnings release or macro print that "
                "landed outside regular hours?",
                "After-hours boundary miss: the thesis check ignores events outside regular hours"),
    FailureMode("thinking_token_tax", 18, "Thinking-token tax",
                "Did the agent expend extended-thinking tokens on a task that did not require "
                "them, inflating cost without improving output?",
                "Thinking-token tax: extended thinking is enabled for tasks that do not need it"),
    FailureMode("research_diary_gap", 19, "Research-diary gap",
                "Was the record of rejected ideas written, or does only the accepted idea "
                "survive?",
                "Research-diary gap: rejected ideas are not recorded", "no"),
    FailureMode("cost_attribution_drift", 20, "Cost attribution drift",
                "Was the cache-write amortization computed correctly, or did a single write get "
                "charged against a single read instead of many?",
                "Cost attribution drift: cache-write amortization is not checked", "no"),
]
FAILURE_MODE_BY_SLUG = {mode.slug: mode for mode in FAILURE_MODES}
DEFAULT_SET_SLUG = "llm-trading"
DEFAULT_SET_NAME = "LLM-driven trading systems (the seed's twenty)"
