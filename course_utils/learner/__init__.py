"""The learner's side: recorded predictions and the exercises' checks. It imports ``core`` and
``lab``.
"""
