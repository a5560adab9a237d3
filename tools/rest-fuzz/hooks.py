"""Schemathesis checks for Sluice's REST API (loaded with SCHEMATHESIS_HOOKS=hooks).

Kafka Connect answers every error with a JSON object {"error_code": <the HTTP status>,
"message": "..."}; clients (the Confluent CLI, connect-cli, UIs) read those two keys. These
checks hold every 4xx and 5xx answer of the fuzz run to that shape.
"""

import json

import schemathesis


@schemathesis.check
def kafka_connect_error_shape(ctx, response, case):
    """Every error answer is {"error_code": <status>, "message": <string>}."""
    status = response.status_code
    if status < 400:
        return None
    # HEAD answers carry no body; 405 from the router is also Kafka-shaped, so no exception.
    if case.method.upper() == "HEAD":
        return None
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{status} answer is not JSON ({e}): {response.content[:200]!r}")
    if not isinstance(body, dict):
        raise AssertionError(f"{status} answer is not a JSON object: {body!r}")
    if body.get("error_code") != status:
        raise AssertionError(f"{status} answer has error_code {body.get('error_code')!r}: {body!r}")
    if not isinstance(body.get("message"), str):
        raise AssertionError(f"{status} answer has no string message: {body!r}")
    return None
