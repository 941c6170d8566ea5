"""Interoperability with other IR toolkits (optional extras): :mod:`irrobust.interop.pyterrier`.

Example:
    >>> from irrobust.interop import pyterrier as irpt
    >>> callable(irpt.to_pyterrier)
    True
"""
