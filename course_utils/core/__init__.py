"""The engine of a training run: data, the network, the initializers, training and the statistics
of its outputs. It imports nothing else of the course.
"""
