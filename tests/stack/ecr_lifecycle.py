"""ECR lifecycle-policy evaluation as AWS documents it, to judge the synthesized policy on a history of
images (moto stores lifecycle policies but never applies them).

From "Lifecycle policy evaluation rules" (docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html):
* rules are evaluated from the lowest rulePriority to the highest; a rule with tagStatus `any` comes last;
* an image that matches the tagging requirements of a higher-priority rule cannot be expired by a rule with
  a lower priority (it is still counted by the lower rule, as if it had not been expired);
* an image is expired by exactly one or zero rules;
* with tagPrefixList, an image matches if every prefix in the list matches one of the image's tags;
* imageCountMoreThan sorts the selected images from youngest to oldest by push time and expires those past
  the count; sinceImagePushed expires those pushed more than countNumber days ago.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Set


@dataclass(frozen=True)
class Image:
    digest: str
    pushed_days_ago: float
    tags: FrozenSet[str] = frozenset()


def _selects(selection: Dict, image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    prefixes = selection.get("tagPrefixList") or []
    return bool(image.tags) and all(any(t.startswith(p) for t in image.tags) for p in prefixes)


def expired(rules: List[Dict], images: List[Image]) -> Set[str]:
    """Digests the policy expires."""
    claimed: Set[str] = set()
    gone: Set[str] = set()
    for rule in sorted(rules, key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        chosen = [i for i in images if _selects(selection, i)]
        if selection["countType"] == "imageCountMoreThan":
            chosen.sort(key=lambda i: i.pushed_days_ago)  # youngest first
            victims = chosen[selection["countNumber"]:]
        else:  # sinceImagePushed, countUnit days
            victims = [i for i in chosen if i.pushed_days_ago > selection["countNumber"]]
        if rule["action"]["type"] == "expire":
            gone |= {i.digest for i in victims if i.digest not in claimed}
        claimed |= {i.digest for i in chosen}
    return gone
