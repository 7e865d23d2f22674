"""Alertmanager's label matchers (pkg/labels/parse.go's syntax and examples), as a repository's settings use them."""

from __future__ import annotations

import pytest

from delivery.github.label_matchers import LabelMatcherError, matchers_match, matchers_parse, matchers_text


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # Alertmanager's own examples of valid input.
        ('{foo = "bar", dings != "bums", }', 'foo="bar", dings!="bums"'),
        ("foo=bar,dings!=bums", 'foo="bar", dings!="bums"'),
        ("foo=bar, dings!=bums", 'foo="bar", dings!="bums"'),
        (
            '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
            'quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""',
        ),
        ('statuscode=~"5.."', 'statuscode=~"5.."'),
        ('service="billing", env="production"', 'service="billing", env="production"'),
        ('a="x,y", b!~"t.*"', 'a="x,y", b!~"t.*"'),
        ("", ""),
        ("   ", ""),
    ],
)
def test_matchers_are_read_as_alertmanager_reads_them(text: str, written: str) -> None:
    assert matchers_text(matchers_parse(text)) == written


def test_a_matcher_s_value_is_unescaped_as_openmetrics_says() -> None:
    [matcher] = matchers_parse(r'msg="line\none \"quoted\" back\\slash \d"')
    assert matcher.value == 'line\none "quoted" back\\slash \\d'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("service", "is not a matcher"),
        ('service="billing", ', None),  # a trailing comma is allowed
        ("9service=billing", "is not a matcher"),
        ("service==billing", None),  # the value "=billing", as Alertmanager reads it
        ('service="billing', "closing double quote"),
        ('service="bil"ling"', "double quote"),
        ('service=~"(unclosed"', "not a regular expression"),
        ('service=~"(?=lookahead)x"', "RE2"),
        (r'service=~"(a)\1"', "RE2"),
        ("service=billing,,env=prod", "is not a matcher"),
    ],
)
def test_what_is_not_a_matcher_is_refused_in_words(text: str, words: str | None) -> None:
    if words is None:
        assert matchers_parse(text)[0].name == "service"
        return
    with pytest.raises(LabelMatcherError, match=words):
        matchers_parse(text)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('service="billing"', {"service": "billing", "env": "production"}, True),
        ('service="billing"', {"service": "billing-api"}, False),
        ('service=~"billing.*"', {"service": "billing-api"}, True),
        ('service=~"billing"', {"service": "billing-api"}, False),  # anchored, as Alertmanager anchors it
        ('service!="billing"', {"service": "shop"}, True),
        ('env!="production"', {}, True),  # a missing label is ""
        ('env=""', {}, True),
        ('env!~"prod.*"', {"env": "production"}, False),
        ('service="billing", env="production"', {"service": "billing", "env": "staging"}, False),
        ("", {"service": "billing"}, False),  # no matchers: no alert is the repository's
    ],
)
def test_matchers_match_as_alertmanager_matches(text: str, labels: dict[str, str], matches: bool) -> None:
    assert matchers_match(matchers_parse(text), labels) is matches
