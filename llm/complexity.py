"""Which tier a request needs: the cheapest one expected to do the job.

The classifier scores what makes a request hard for a small model, from the request's
shape only (it knows nothing about what the request is about):

- candidate_count: how many items the model must compare and rank. Up to 10 is easy; 11–30
  needs a steady model; more than 30 overflows a small model's attention.
- has_context / context_chars: free text from the user (a query, a note) must be read and
  understood; short context (≤ 200 characters) is a hint, longer context is a task.
- wants_reasons: written explanations shown to people need fluent, grounded prose.
- prompt_chars: very long prompts (> 12,000 characters) need a larger model's context handling.

Points: candidates 11–30 → 1, > 30 → 2; context ≤ 200 chars → 1, longer → 2; reasons → 2;
prompt > 12,000 chars → 1, > 40,000 → 2. Total 0–1 → budget, 2–3 → efficient, ≥ 4 → premium.
A per-request override (budget / efficient / premium) wins and is recorded as the reason.
"""

from dataclasses import dataclass

TIERS = ("budget", "efficient", "premium")


@dataclass(frozen=True)
class RequestFeatures:
    candidate_count: int = 0
    has_context: bool = False
    context_chars: int = 0
    wants_reasons: bool = False
    prompt_chars: int = 0


@dataclass(frozen=True)
class TierChoice:
    tier: str
    reason: str


def choose_tier(features: RequestFeatures, *, override: str | None = None) -> TierChoice:
    """The cheapest tier expected to handle ``features``, or ``override`` when given."""
    if override:
        if override not in TIERS:
            raise ValueError(f"unknown tier {override!r}; expected one of {', '.join(TIERS)}")
        return TierChoice(override, f"override: {override}")
    points, reasons = 0, []
    if features.candidate_count > 30:
        points += 2
        reasons.append(f"{features.candidate_count} candidates (+2)")
    elif features.candidate_count > 10:
        points += 1
        reasons.append(f"{features.candidate_count} candidates (+1)")
    if features.has_context or features.context_chars:
        long_context = features.context_chars > 200
        points += 2 if long_context else 1
        reasons.append(f"free-text context {features.context_chars} chars (+{2 if long_context else 1})")
    if features.wants_reasons:
        points += 2
        reasons.append("explanations asked (+2)")
    if features.prompt_chars > 40_000:
        points += 2
        reasons.append(f"prompt {features.prompt_chars} chars (+2)")
    elif features.prompt_chars > 12_000:
        points += 1
        reasons.append(f"prompt {features.prompt_chars} chars (+1)")
    tier = "budget" if points <= 1 else "efficient" if points <= 3 else "premium"
    return TierChoice(tier, f"score {points}: " + (", ".join(reasons) if reasons else "simple request"))
