"""The WSGI layer in front of moto: requests one at a time, lost answers replayed, not redone."""

from __future__ import annotations


def test_requests_are_handled_one_at_a_time() -> None:
    """moto's backends are not thread-safe: the emulator serializes requests (see OneRequestAtATime)."""
    import threading
    import time

    from cicd.emulator.wsgi import OneRequestAtATime

    inside, overlaps = [0], []

    def app(environ, start_response):
        inside[0] += 1
        overlaps.append(inside[0])
        time.sleep(0.01)
        inside[0] -= 1
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = OneRequestAtATime(app)
    threads = [threading.Thread(target=wrapped, args=({}, lambda *a: None)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1] * 8




def _sdk_call(wrapped, invocation: str, attempt: int, body: bytes = b"Action=CreateRule&Priority=10"):
    """One request as an AWS SDK sends it (query protocol); returns (status, body) as the client sees them."""
    import io

    seen = []
    chunks = wrapped({"HTTP_AMZ_SDK_INVOCATION_ID": invocation, "HTTP_AMZ_SDK_REQUEST": f"attempt={attempt}; max=25",
                      "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
                      "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)},
                     lambda status, headers, exc_info=None: seen.append(status))
    return seen[-1], b"".join(chunks)


def _create_rule_app():
    """Like moto's CreateRule: the first call with a priority creates it, the next one is refused."""
    used = []

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        assert body == b"Action=CreateRule&Priority=10"  # the body is intact after the action was noted
        if used:
            start_response("400 BAD REQUEST", [("Content-Type", "text/xml")])
            return [b"PriorityInUse"]
        used.append(body)
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<RuleArn>", b"rule/1</RuleArn>"]

    return app, used


def test_a_retried_call_that_was_answered_gets_the_same_answer_again(caplog) -> None:
    """The SDK sends a call again when it lost the answer: it must not be run twice ("already exists")."""
    import logging

    from cicd.emulator.wsgi import OneRequestAtATime

    app, used = _create_rule_app()
    wrapped = OneRequestAtATime(app)
    with caplog.at_level(logging.WARNING, logger="cicd.emulator.server"):
        assert _sdk_call(wrapped, "inv-1", 1) == ("200 OK", b"<RuleArn>rule/1</RuleArn>")
        assert caplog.records == []  # first attempts are not noise
        assert _sdk_call(wrapped, "inv-1", 2) == ("200 OK", b"<RuleArn>rule/1</RuleArn>")  # replayed
    assert len(used) == 1 and wrapped.answers.replayed == 1
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith("client retry CreateRule (inv-1) attempt=2: its earlier attempt was answered 200 OK")
    assert "earlier: attempt=1: 200 OK after" in message
    # another call (another invocation id) runs for real: moto's answer, not a replay
    assert _sdk_call(wrapped, "inv-2", 1) == ("400 BAD REQUEST", b"PriorityInUse")


def test_a_retried_call_that_failed_runs_again(caplog) -> None:
    import logging

    from cicd.emulator.wsgi import OneRequestAtATime

    calls = []

    def flaky(environ, start_response):
        environ["wsgi.input"].read()
        calls.append(1)
        if len(calls) == 1:
            start_response("500 INTERNAL SERVER ERROR", [])
            return [b"boom"]
        start_response("200 OK", [])
        return [b"done"]

    wrapped = OneRequestAtATime(flaky)
    with caplog.at_level(logging.WARNING, logger="cicd.emulator.server"):
        assert _sdk_call(wrapped, "inv-1", 1)[0] == "500 INTERNAL SERVER ERROR"
        assert _sdk_call(wrapped, "inv-1", 2) == ("200 OK", b"done")
    assert len(calls) == 2 and wrapped.answers.replayed == 0
    assert "client retry CreateRule (inv-1) attempt=2: 200 OK after" in caplog.records[0].getMessage()


def test_requests_without_an_invocation_id_are_never_replayed() -> None:
    import io

    from cicd.emulator.wsgi import OneRequestAtATime

    app, used = _create_rule_app()
    wrapped = OneRequestAtATime(app)
    body = b"Action=CreateRule&Priority=10"
    for _ in range(2):
        wrapped({"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                 "wsgi.input": io.BytesIO(body)}, lambda *a: None)
    assert len(used) == 1 and wrapped.answers.replayed == 0  # the second one was refused by the app


def test_answers_are_bounded() -> None:
    from cicd.emulator.wsgi import Answers

    answers = Answers(keep=3, max_body=10)
    for i in range(5):
        answers.record({"HTTP_AMZ_SDK_INVOCATION_ID": f"inv-{i}"}, "200 OK", [], b"x" * (5 if i else 50), 0, 0)
    assert answers.earlier_success({"HTTP_AMZ_SDK_INVOCATION_ID": "inv-0"}) is None  # evicted (and too big)
    assert answers.earlier_success({"HTTP_AMZ_SDK_INVOCATION_ID": "inv-1"}) is None  # evicted
    assert answers.earlier_success({"HTTP_AMZ_SDK_INVOCATION_ID": "inv-4"}) == ("200 OK", [], b"xxxxx")


def test_held_writes_never_reach_moto_while_reads_and_s3_do(aws, emulator) -> None:
    """hold_writes(True): a create is answered 503 and not made; reads and S3 (state, lock file) go through;
    released, the same create works. Through the real emulator and boto3's own request signing."""
    from botocore.exceptions import ClientError

    ssm, s3 = aws("ssm"), aws("s3")
    bucket = f"hold-{id(ssm)}"
    emulator.hold_writes(True)
    try:
        try:
            ssm.put_parameter(Name="/held/p", Value="v", Type="String")
            raise AssertionError("a write went through while writes were held")
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert ssm.describe_parameters()["Parameters"] is not None  # reads go through
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket=bucket, Key="state.tflock", Body=b"{}", IfNoneMatch="*")  # S3 writes go through
    finally:
        emulator.hold_writes(False)
    assert not [p for p in ssm.describe_parameters()["Parameters"] if p["Name"] == "/held/p"]  # never made
    ssm.put_parameter(Name="/held/p", Value="v", Type="String")
    assert ssm.get_parameter(Name="/held/p")["Parameter"]["Value"] == "v"


def test_what_counts_as_a_write() -> None:
    from cicd.emulator.wsgi import is_write

    def signed(service: str, **extra: str) -> dict:
        return {"HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/{service}/aws4_request, "
                                      "SignedHeaders=host, Signature=x", **extra}

    assert is_write(signed("ssm", HTTP_X_AMZ_TARGET="AmazonSSM.PutParameter", REQUEST_METHOD="POST"))
    assert not is_write(signed("ssm", HTTP_X_AMZ_TARGET="AmazonSSM.GetParameters", REQUEST_METHOD="POST"))
    assert is_write(signed("ec2", **{"cicd.action": "CreateVpc", "REQUEST_METHOD": "POST"}))
    assert not is_write(signed("ec2", **{"cicd.action": "DescribeVpcs", "REQUEST_METHOD": "POST"}))
    assert not is_write(signed("s3", REQUEST_METHOD="PUT"))  # state and lock file
    assert is_write(signed("lambda", REQUEST_METHOD="POST"))  # REST: by method
    assert not is_write(signed("lambda", REQUEST_METHOD="GET"))
