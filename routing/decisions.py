"""The routing workload's calls into the flywheel gateway (one Decision row per routed lead)."""

from __future__ import annotations

from dataclasses import dataclass

from flywheel.gateway import DecisionResult, Rules, decide, decide_many
from routing.prompt import OUTPUT_SCHEMA, PROMPT_VERSION, WORKLOAD


@dataclass(frozen=True, slots=True)
class Case:
    lead_id: str
    context: dict
    messages: list[dict]
    output: dict
    confidence: float
    explanation: str

    def rules(self, _context: dict) -> Rules:
        return Rules(output=self.output, confidence=self.confidence, explanation=self.explanation)


def decisions_record(*, cases: list[Case], policy_version: int | None) -> list[DecisionResult]:
    """Clear cases: the rules decided; the gateway bulk-records them (no LLM)."""
    if not cases:
        return []
    return decide_many(
        workload=WORKLOAD,
        cases=[
            {
                "subject_id": case.lead_id,
                "context": case.context,
                "messages": case.messages,
                "rules": case.rules,
            }
            for case in cases
        ],
        prompt_version=PROMPT_VERSION,
        output_schema=OUTPUT_SCHEMA,
        use_llm=False,
        policy_version=policy_version,
    )


def decision_validate(*, case: Case, policy_version: int | None) -> DecisionResult:
    """An ambiguous case: ask the LLM; the gateway falls back to ``case``'s rules output (the
    fallback queue) when there is no LLM or it fails."""
    return decide(
        workload=WORKLOAD,
        subject_id=case.lead_id,
        context=case.context,
        messages=case.messages,
        prompt_version=PROMPT_VERSION,
        output_schema=OUTPUT_SCHEMA,
        rules=case.rules,
        use_llm=True,
        policy_version=policy_version,
    )
