"""Loaded by .ci/schemathesis.sh through SCHEMATHESIS_HOOKS.

Python 3.11.7's parser raises "SystemError: AST constructor recursion depth
mismatch" when Hypothesis parses a large module to describe a filter lambda
(it only wants the text for a repr). Describing lambdas without parsing
sidesteps that interpreter bug; nothing is tested differently.
"""

import hypothesis.internal.lambda_sources as lambda_sources
import hypothesis.internal.reflection as reflection


def _plain_description(f):
    return getattr(f, "__name__", "lambda")


lambda_sources.lambda_description = _plain_description
reflection.lambda_sources.lambda_description = _plain_description
