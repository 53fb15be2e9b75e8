"""A release that passes its checks tags its image so ECR's lifecycle policy keeps it (issue 14, hole 4): the
image production runs, and a rollback returns to, outlives later builds."""
from __future__ import annotations

from health_check_testkit import IMAGE_TAG, REPOSITORY, World, aws_client, create_deployment, handler_module

handler = handler_module.handler


def _digests_by_tag() -> dict:
    images = aws_client("ecr").describe_images(repositoryName=REPOSITORY)["imageDetails"]
    return {tag: image["imageDigest"] for image in images for tag in image.get("imageTags") or []}


def test_passed_release_tags_its_image_so_the_lifecycle_policy_keeps_it(world: World, codedeploy_gap) -> None:
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    tags = _digests_by_tag()
    assert tags[f"release-{IMAGE_TAG}"] == tags[IMAGE_TAG]  # the same image, one more (protected) tag
    # Released again (e.g. to production after staging): the tag is already there, which is fine.
    second = create_deployment(world.codedeploy)
    assert handler(world.hook_event(second), None)["verdict"] == "Succeeded"


def test_release_whose_image_is_not_in_ecr_fails(world: World, codedeploy_gap) -> None:
    aws_client("ecr").batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": IMAGE_TAG}])
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "not found in ECR" in result["reason"]
