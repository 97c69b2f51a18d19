"""What the learner looks at: plots, TensorBoard logs and the playground's widgets. It imports
``core`` and ``lab``.
"""
