"""Release labels on the pages, the same words as in the notices."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from delivery.pipeline.models import Release, release_tags

register = template.Library()


@register.filter(name="release_tags")
def release_tags_filter(releases: Iterable[Release]) -> str:
    """`{{ covered|release_tags }}` → "v1.4.1 and v1.4.2"."""
    return release_tags(releases)
