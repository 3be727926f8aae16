"""Reference figures: paper 001 (Bifarini et al., Clin Ter 2022;173(1):79-83).

62 patients with cervicobrachial pain, treated weekly with intradermal therapy until the
pain fell by 50 %: group A with the full dose, group B with half the dose. Table 1 gives
each patient's basal NRS, final NRS and number of weekly sessions; :data:`REFERENCE` holds
the figures the paper reports, which the cohort view and the PDF summary show beside a
clinic's own (the tests recompute them from Table 1). The demo data is built from Table 1.
"""

from __future__ import annotations

from dataclasses import dataclass

CITATION = "Bifarini B, et al. Clin Ter 2022;173(1):79-83. doi:10.7417/CT.2022.2396"

#: (basal NRS, final NRS, number of weekly sessions) for patients 1..31 of each group
TABLE_1: dict[str, list[tuple[int, int, int]]] = {
    "A": [
        (9, 4, 6),
        (8, 4, 4),
        (8, 4, 6),
        (8, 4, 3),
        (9, 4, 9),
        (8, 4, 2),
        (8, 4, 5),
        (8, 4, 3),
        (8, 4, 3),
        (8, 4, 4),
        (9, 4, 8),
        (8, 4, 3),
        (8, 4, 2),
        (8, 4, 5),
        (8, 6, 4),
        (8, 4, 1),
        (8, 4, 5),
        (8, 4, 3),
        (8, 4, 4),
        (8, 4, 5),
        (8, 4, 4),
        (8, 4, 5),
        (8, 2, 2),
        (8, 4, 2),
        (8, 2, 4),
        (8, 4, 3),
        (8, 4, 3),
        (8, 2, 3),
        (9, 4, 3),
        (8, 4, 5),
        (8, 4, 4),
    ],
    "B": [
        (8, 3, 3),
        (8, 4, 3),
        (8, 4, 1),
        (8, 5, 7),
        (8, 4, 5),
        (8, 4, 3),
        (8, 4, 5),
        (8, 3, 2),
        (8, 4, 3),
        (8, 4, 2),
        (8, 4, 3),
        (8, 6, 2),
        (8, 4, 5),
        (8, 4, 4),
        (8, 4, 4),
        (8, 4, 3),
        (8, 4, 3),
        (8, 4, 1),
        (9, 4, 3),
        (8, 4, 4),
        (8, 4, 1),
        (8, 2, 3),
        (8, 2, 3),
        (8, 3, 2),
        (8, 2, 1),
        (8, 4, 1),
        (8, 4, 3),
        (8, 4, 5),
        (8, 4, 5),
        (8, 4, 3),
        (8, 8, 1),
    ],
}
#: patients also given weekly ultrasound-guided sacroiliac infiltration (Table 2)
SACROILIITIS = {"A": {2, 5, 18, 19, 20, 21}, "B": {14, 17, 19, 22, 30}}


@dataclass(frozen=True)
class Reference:
    """The figures paper 001 reports (mean, SD, and for sessions min and max)."""

    courses: int = 62
    reached: int = 58
    sessions: tuple[float, float, int, int] = (3.5, 1.7, 1, 9)  # to the 50 % goal
    sessions_full: tuple[float, float, int, int] = (4, 1.7, 1, 9)
    sessions_half: tuple[float, float, int, int] = (3, 1.5, 1, 7)
    baseline_full: tuple[float, float] = (8.1, 0.3)
    baseline_half: tuple[float, float] = (8.0, 0.2)
    # change in NRS points (final - basal), mean and SD, computed from Table 1; the paper's
    # text reports "3.9 in both groups", which is the mean final NRS, not the change
    change_full: tuple[float, float] = (-4.3, 0.8)
    change_half: tuple[float, float] = (-4.1, 1.1)
    text_figure: float = 3.9


REFERENCE = Reference()
