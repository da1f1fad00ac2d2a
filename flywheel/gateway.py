"""The one way the product makes an automated choice: ``decide()`` and its bulk twin.

Each call picks a decider (the rules; the LLM or a registered local model when the workload says
the case needs one), validates the answer against the workload's output schema, falls back to the
rules on any failure and writes exactly one ``Decision`` row per case, either way.

For a case that needs a model, the workload's lineup (``flywheel.deciders.lineup_for``) may send
the subject to an A/B challenger, or run a shadow challenger beside the champion: the shadow's
answer gets its own row in workload ``<workload>.shadow`` (``effect`` names the decision it
shadowed and says it was not acted on); callers only ever see the champion's result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flywheel import conf
from flywheel.choices import Decider, DecisionStatus
from flywheel.deciders import ModelDecider, lineup_for
from flywheel.llm import LlmFailure, llm_decide
from flywheel.models import Decision
from flywheel.redaction import api_key_strip, secrets_may_be_in, secrets_scrub
from flywheel.schema import schema_errors
from flywheel_site.bulk import rows_insert


@dataclass(frozen=True, slots=True)
class Rules:
    output: dict
    confidence: float
    explanation: str


@dataclass(frozen=True, slots=True)
class DecisionResult:
    decision_id: int
    output: dict
    confidence: float
    explanation: str
    decided_by: str
    status: str
    reason: str = ""


SHADOW_SUFFIX = ".shadow"


class RulesFailed(RuntimeError):
    """A workload's rules raised; the failure is recorded as an ``error`` decision first."""

    def __init__(self, decision_ids: list[int], cause: BaseException) -> None:
        super().__init__(f"rules failed for decision(s) {decision_ids}: {cause!r}")
        self.decision_ids = decision_ids


RulesFn = Callable[[dict], Rules]


def decide(
    *,
    workload: str,
    subject_id: str,
    context: dict,
    messages: list[dict],
    prompt_version: str,
    output_schema: dict,
    rules: RulesFn,
    use_llm: bool,
    policy_version: int | None = None,
) -> DecisionResult:
    """Decide one case and record it (one INSERT)."""
    decision, failure, shadow = _decision_build(
        workload=workload,
        subject_id=subject_id,
        context=context,
        messages=messages,
        prompt_version=prompt_version,
        output_schema=output_schema,
        rules=rules,
        use_llm=use_llm,
        policy_version=policy_version,
    )
    decision.save(force_insert=True)
    if shadow is not None:
        _shadow_link(shadow, decision).save(force_insert=True)
    if failure is not None:
        raise RulesFailed([decision.pk], failure)
    return _result(decision)


def decide_many(
    *,
    workload: str,
    cases: list[Mapping],
    prompt_version: str,
    output_schema: dict,
    use_llm: bool,
    policy_version: int | None = None,
) -> list[DecisionResult]:
    """Decide many cases (each a mapping with ``subject_id``, ``context``, ``messages``, ``rules``)
    and record them with bulk INSERTs; results come back in the order of ``cases``."""
    built = [
        _decision_build(
            workload=workload,
            subject_id=case["subject_id"],
            context=case["context"],
            messages=case["messages"],
            prompt_version=prompt_version,
            output_schema=output_schema,
            rules=case["rules"],
            use_llm=use_llm,
            policy_version=policy_version,
        )
        for case in cases
    ]
    decisions = rows_insert([decision for decision, _, _ in built])
    rows_insert([_shadow_link(s, d) for d, _, s in built if s is not None])
    failures = [(d.pk, f) for d, f, _ in built if f is not None]
    if failures:
        raise RulesFailed([pk for pk, _ in failures], failures[0][1])
    return [_result(decision) for decision in decisions]


def _decision_build(
    *,
    workload: str,
    subject_id: str,
    context: dict,
    messages: list[dict],
    prompt_version: str,
    output_schema: dict,
    rules: RulesFn,
    use_llm: bool,
    policy_version: int | None,
) -> tuple[Decision, BaseException | None, Decision | None]:
    started = time.perf_counter()
    decision = Decision(
        workload=workload,
        subject_id=(subject_id or "")[:64],
        prompt_version=prompt_version,
        policy_version=policy_version,
        context=context,
        output_schema=output_schema,
    )
    answered, shadow = False, None
    if use_llm:
        lineup = lineup_for(workload)
        model = lineup.decider_for_subject(workload=workload, subject_id=decision.subject_id)
        if model is None:
            answered = _try_llm(decision, messages=messages)
        else:
            answered = _try_model(decision, model=model, context=context, messages=messages)
            if answered and decision.confidence < conf.local_min_confidence() and conf.api_key():
                _escalate(decision, messages=messages)
        if lineup.shadow is not None:
            shadow = _shadow_build(decision, model=lineup.shadow, messages=messages)
    if not answered:
        failure = _apply_rules(decision, rules=rules, context=context)
        if failure is not None:
            decision.latency_ms = _since(started)
            decision.conversation = {"messages": list(messages)}
            return _secrets_strip(decision), failure, shadow
    decision.latency_ms = max(decision.latency_ms, _since(started))
    # The common case, nothing to mask anywhere, takes one check instead of one per value.
    suspect = secrets_may_be_in(
        decision.output, messages, decision.context, decision.explanation, decision.reason
    )
    if suspect:
        decision.output = api_key_strip(decision.output)
    assistant = {"role": "assistant", "content": json.dumps(decision.output, ensure_ascii=False)}
    decision.conversation = {"messages": [*messages, assistant]}
    return (_secrets_strip(decision) if suspect else decision), None, shadow


def _secrets_strip(decision: Decision) -> Decision:
    """Whoever wrote them (rules, model, LLM), no stored text carries the API key."""
    decision.conversation = api_key_strip(decision.conversation)
    decision.context = api_key_strip(decision.context)
    decision.explanation = api_key_strip(decision.explanation)
    decision.reason = api_key_strip(decision.reason)
    return decision


def _shadow_build(champion: Decision, *, model: ModelDecider, messages: list[dict]) -> Decision:
    """The challenger's answer on the same case, as a row of its own (an error row when it fails:
    a shadow never falls back, its failures are part of what shadowing measures)."""
    started = time.perf_counter()
    shadow = Decision(
        workload=f"{champion.workload}{SHADOW_SUFFIX}"[:40],
        subject_id=champion.subject_id,
        prompt_version=champion.prompt_version,
        policy_version=champion.policy_version,
        context=api_key_strip(champion.context),
        output_schema=champion.output_schema,
        created_at=champion.created_at,
        model_name=str(getattr(model, "model_name", ""))[:100],
    )
    if not _try_model(shadow, model=model, context=champion.context, messages=messages):
        shadow.decider, shadow.status = Decider.MODEL, DecisionStatus.ERROR
    shadow.latency_ms = max(shadow.latency_ms, _since(started))
    assistant = {"role": "assistant", "content": json.dumps(shadow.output, ensure_ascii=False)}
    shadow.conversation = api_key_strip({"messages": [*messages, assistant]})
    return shadow


def _shadow_link(shadow: Decision, champion: Decision) -> Decision:
    shadow.effect = {"shadow_of": champion.pk, "acted": False}
    return shadow


def _try_model(
    decision: Decision, *, model: ModelDecider, context: dict, messages: list[dict]
) -> bool:
    try:
        answer = model(context, messages)
        errors = schema_errors(answer.output, decision.output_schema)
    except Exception as error:  # any model failure falls back to the rules
        _fallback(decision, reason=f"model: {type(error).__name__}: {error}")
        return False
    if errors:
        _fallback(decision, reason=f"model schema: {'; '.join(errors)}")
        return False
    decision.decider, decision.model_name = Decider.MODEL, answer.model_name[:100]
    decision.output, decision.explanation = answer.output, answer.explanation
    decision.confidence = _clamp(answer.confidence)
    return True


def _try_llm(decision: Decision, *, messages: list[dict]) -> bool:
    decision.model_name = conf.llm_model()[:100]
    try:
        answer = llm_decide(messages=messages, output_schema=decision.output_schema)
    except LlmFailure as failure:
        if failure.usage:
            decision.input_tokens, decision.output_tokens = failure.usage
            decision.cost_usd = conf.llm_cost(
                model=decision.model_name,
                input_tokens=failure.usage[0],
                output_tokens=failure.usage[1],
            )
        _fallback(decision, reason=f"llm: {failure.reason}")
        return False
    decision.decider, decision.model_name, decision.output = (
        Decider.LLM,
        answer.model,
        answer.output,
    )
    decision.input_tokens, decision.output_tokens = answer.input_tokens, answer.output_tokens
    decision.cost_usd, decision.latency_ms = answer.cost_usd, answer.latency_ms
    decision.explanation = secrets_scrub(_explanation(answer.output))
    decision.confidence = _llm_confidence(answer.output)
    return True


_ANSWER_FIELDS = ("decider", "model_name", "output", "explanation", "confidence", "status")


def _escalate(decision: Decision, *, messages: list[dict]) -> None:
    """Confidence routing: a local answer below FLYWHEEL_LOCAL_MIN_CONFIDENCE goes to the LLM;
    when the LLM fails, the local answer stands (the reason says both)."""
    local = {name: getattr(decision, name) for name in _ANSWER_FIELDS}
    note = f"local model confidence {decision.confidence:.2f} < {conf.local_min_confidence()}"
    if _try_llm(decision, messages=messages):
        decision.reason = f"{note}: the LLM answered"
        return
    failure = decision.reason
    for name, value in local.items():
        setattr(decision, name, value)
    decision.reason = secrets_scrub(f"{note}; the LLM failed ({failure}): local answer kept")[:500]


def _fallback(decision: Decision, *, reason: str) -> None:
    decision.status = DecisionStatus.FALLBACK
    decision.reason = secrets_scrub(reason)[:500]


def _apply_rules(decision: Decision, *, rules: RulesFn, context: dict) -> BaseException | None:
    """Fill ``decision`` from the rules; return the exception when the rules raised."""
    fell_back = decision.status == DecisionStatus.FALLBACK
    decision.decider = Decider.FALLBACK if fell_back else Decider.RULES
    try:
        verdict = rules(context)
    except Exception as error:  # recorded, then re-raised by the caller
        decision.status = DecisionStatus.ERROR
        decision.reason = secrets_scrub(f"rules raised {type(error).__name__}: {error}")[:500]
        return error
    decision.output, decision.explanation = verdict.output, verdict.explanation
    decision.confidence = _clamp(verdict.confidence)
    errors = schema_errors(verdict.output, decision.output_schema)
    if errors:
        decision.status = DecisionStatus.ERROR
        prefix = f"{decision.reason}; " if fell_back else ""
        decision.reason = f"{prefix}rules schema: {'; '.join(errors)}"[:500]
    return None


def _result(decision: Decision) -> DecisionResult:
    return DecisionResult(
        decision_id=decision.pk,
        output=decision.output,
        confidence=decision.confidence,
        explanation=decision.explanation,
        decided_by=decision.decider,
        status=decision.status,
        reason=decision.reason,
    )


def _explanation(output: dict) -> str:
    for key in ("reason", "explanation", "rationale"):
        if isinstance(output.get(key), str):
            return output[key]
    return ""


def _llm_confidence(output: dict) -> float:
    value = output.get("confidence")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _clamp(float(value))
    return conf.llm_default_confidence()


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
