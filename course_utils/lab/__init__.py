"""The experiments and what they measure: the post's three experiments, the diagnostics, the
training dashboard, LSUV, the deep stack and the learning-rate grid. It imports only ``core``.
"""
