"""The trigger conditions that open a postmortem, and the drawdown rule computed from figures.

Rule: docs/rules.md#trigger-drawdown:
realized loss exceeding the daily drawdown threshold — one percent of deployed capital on
a single session, or three percent rolling over five sessions, whichever fires first.
"""
from dataclasses import dataclass
from decimal import Decimal

SINGLE_SESSION_PERCENT = Decimal(1)
FIVE_SESSION_PERCENT = Decimal(3)
ROLLING_SESSIONS = 5
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Session:
    """One trading session's figures: realized loss in USD (a gain is negative) and the
    capital deployed in that session in USD (more than 0)."""

    loss_usd: Decimal
    deployed_capital_usd: Decimal

    @property
    def loss_percent(self) -> Decimal:
        return self.loss_usd / self.deployed_capital_usd * HUNDRED


@dataclass(frozen=True)
class DrawdownResult:
    """The drawdown rule applied to sessions (oldest first, the event's session last).

    single_session_percent: the last session's loss as a percentage of its deployed
    capital. five_session_percent: the sum of those percentages over the last five
    sessions (fewer when fewer are sent). breached: either exceeds its threshold.
    """

    single_session_percent: Decimal
    five_session_percent: Decimal
    sessions_counted: int

    @property
    def single_session_breached(self) -> bool:
        return self.single_session_percent > SINGLE_SESSION_PERCENT

    @property
    def five_session_breached(self) -> bool:
        return self.five_session_percent > FIVE_SESSION_PERCENT

    @property
    def breached(self) -> bool:
        return self.single_session_breached or self.five_session_breached

    def as_json(self) -> dict:
        """Percentages as strings with two decimals, and the thresholds they were held to."""
        return {
            "single_session_percent": f"{self.single_session_percent:.2f}",
            "five_session_percent": f"{self.five_session_percent:.2f}",
            "sessions_counted": self.sessions_counted,
            "thresholds": {"single_session_percent": f"{SINGLE_SESSION_PERCENT:.2f}",
                           "five_session_percent": f"{FIVE_SESSION_PERCENT:.2f}"},
            "breached": self.breached,
        }

    def describe(self) -> str:
        """'Drawdown 1.40% in one session (threshold 1%), 2.10% over 5 sessions (threshold 3%).'"""
        return (f"Drawdown {self.single_session_percent:.2f}% in one session (threshold "
                f"{SINGLE_SESSION_PERCENT}%), {self.five_session_percent:.2f}% over "
                f"{self.sessions_counted} session{'s' if self.sessions_counted != 1 else ''} "
                f"(threshold {FIVE_SESSION_PERCENT}% over {ROLLING_SESSIONS}).")


def evaluate_drawdown(sessions: list[Session]) -> DrawdownResult:
    """Apply the drawdown rule to `sessions` (oldest first; at least one).

    Raises ValueError for an empty list.
    """
    if not sessions:
        raise ValueError("sessions: send at least the event's session.")
    window = sessions[-ROLLING_SESSIONS:]
    return DrawdownResult(
        single_session_percent=window[-1].loss_percent,
        five_session_percent=sum((s.loss_percent for s in window), Decimal(0)),
        sessions_counted=len(window),
    )
