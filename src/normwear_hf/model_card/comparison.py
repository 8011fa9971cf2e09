"""What the numbers say: the pretrained weights against the same architecture with random weights, per task.

"Beats random init": the main metric differs by more than ``tie_tolerance`` (0.001, the resolution of the tables)
in the better direction (lower for MAE); smaller differences are ties. The card prints :meth:`RandomInitComparison.
sentence`, which says so plainly when the weights do not beat their random twin on most tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .constants import LOWER_IS_BETTER, TIE_TOLERANCE
from .inputs import main_metric, main_score, scored_tasks

__all__ = ["RandomInitComparison", "compare_with_random_init"]


@dataclass
class RandomInitComparison:
    """Per task, the pretrained weights against the same architecture with random weights (main metric)."""

    wins: list[str] = field(default_factory=list)
    ties: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    separated_wins: list[str] = field(default_factory=list)  # wins whose 95% intervals do not overlap
    identical: bool = False  # every compared task has exactly the same score: the weights are random
    tolerance: float = TIE_TOLERANCE

    @property
    def compared(self) -> int:
        return len(self.wins) + len(self.ties) + len(self.losses)

    @property
    def beats_on_most(self) -> bool:
        return self.compared > 0 and len(self.wins) > self.compared / 2

    def sentence(self) -> str:
        if not self.compared:
            return (
                "No task has scores for both the model and its random-init twin: what pretraining adds is not measured."
            )
        line = (
            f"**Pretrained vs random init: the pretrained weights beat the same architecture with random weights on "
            f"{len(self.wins)} of {self.compared} tasks** (ties on {len(self.ties)}, losses on {len(self.losses)}; "
            f"a main-metric difference under {self.tolerance:g} counts as a tie)"
        )
        line += (
            f"; the 95% intervals separate on {len(self.separated_wins)} of those {len(self.wins)}."
            if self.wins
            else "."
        )
        if self.identical:
            line += (
                " The model's scores equal the random-init scores on every task: these weights are the random "
                "initialisation, not a pretrained model."
            )
        elif not self.beats_on_most:
            line += (
                " Pretraining does not beat random initialisation on most tasks: on this benchmark the learned "
                "weights add little over the architecture and the wavelet front end, so treat the embeddings as a "
                "random-feature baseline until a larger evaluation shows otherwise."
            )
        return line


def compare_with_random_init(results: Mapping[str, Any], tie_tolerance: float = TIE_TOLERANCE) -> RandomInitComparison:
    """Count the tasks on which ``normwear`` beats, ties or loses to ``random_init`` (see the module's Decisions)."""
    comparison = RandomInitComparison(tolerance=tie_tolerance)
    exact = []
    for name, entry in scored_tasks(results).items():
        model, random = main_score(entry["methods"].get("normwear")), main_score(entry["methods"].get("random_init"))
        if model is None or random is None:
            continue
        sign = -1.0 if main_metric(entry) in LOWER_IS_BETTER else 1.0
        gain = sign * (model[0] - random[0])
        exact.append(model[0] == random[0])
        if gain > tie_tolerance:
            comparison.wins.append(name)
            separated = model[1] > random[2] if sign > 0 else model[2] < random[1]
            if separated:
                comparison.separated_wins.append(name)
        elif gain < -tie_tolerance:
            comparison.losses.append(name)
        else:
            comparison.ties.append(name)
    comparison.identical = bool(exact) and all(exact)
    return comparison
