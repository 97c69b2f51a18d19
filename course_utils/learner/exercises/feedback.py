"""What every exercise check returns, and how it reads a learner's number or name."""

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


_TYPED_VARIANTS = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00d7": "x"})


def read_name(text):
    """A name as a learner may type it: any case, any spacing, an en dash, em dash or minus sign
    for "-", a "×" for "x". Returns it lower-case, with single spaces."""
    return " ".join(str(text).translate(_TYPED_VARIANTS).lower().split())


def apart(want, got, digits=4):
    """``want`` and ``got`` as text, to ``digits`` significant figures or to as many more as it
    takes to tell them apart (so feedback never reads "should be 0.4714, got 0.4714")."""
    for places in range(digits, 18):
        shown = f"{want:.{places}g}", f"{got:.{places}g}"
        if shown[0] != shown[1]:
            return shown
    return shown
