"""The Lambda patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/awslambda.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

from .helpers import make_role, trust_policy, unique


def test_lambda_dead_letter_config(aws, tmp_path) -> None:
    """Gap: CreateFunction/UpdateFunctionConfiguration ignore DeadLetterConfig and GetFunction never
    returns it (aws_lambda_function with dead_letter_config drifts on every re-plan)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    lam = aws("lambda")
    sqs = aws("sqs")
    role = make_role(aws("iam"), unique("fn"), trust_policy("lambda.amazonaws.com"))
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    name = unique("fn")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()},
        DeadLetterConfig={"TargetArn": queue},
    )
    assert created["DeadLetterConfig"] == {"TargetArn": queue}
    assert lam.get_function(FunctionName=name)["Configuration"]["DeadLetterConfig"] == {"TargetArn": queue}
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": queue}
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function(FunctionName=name)["Configuration"]
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue})
    assert lam.get_function(FunctionName=name)["Configuration"]["DeadLetterConfig"] == {"TargetArn": queue}
