"""Mesh structures and operations: the generator's hemisphere template, subdivision, graph ops, sampling."""
