"""What every exercise check returns, and how it reads a learner's number."""

from dataclasses import dataclass
import numbers


@dataclass(frozen=True)
class Feedback:
    """The result of a check: ``passed`` and a message for the learner (shown as the repr)."""

    passed: bool
    message: str

    def __repr__(self):
        return ("Correct! " if self.passed else "Not yet. ") + self.message

    def __bool__(self):
        return self.passed


def as_number(value):
    """``value`` as a float if it is one real number (Python, NumPy or a 0-d tensor), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None
