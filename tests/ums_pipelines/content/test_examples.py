"""The example content files (examples/content): each adds cleanly, its image refs are
the shipped images, and each variant, rendered with sample values, passes its channel's
checks (advertising label and 080 opt-out included)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ums_pipelines.channels.checks import check_message
from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.rendering import render_payload
from ums_pipelines.content.bank import add_content
from ums_pipelines.content.document import ContentDocument, load_documents
from ums_pipelines.content.review import submit_for_review
from ums_pipelines.content.spec import VariableKind, VariableSpec
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.templates import render

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "content"
FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
DOCS = [(p.name, d) for p in FILES for d in load_documents(p)]
IMAGES = {
    hashlib.sha256(p.read_bytes()).hexdigest() + p.suffix: p
    for p in (EXAMPLES / "images").iterdir()
}


def test_there_are_examples_of_both_purposes() -> None:
    assert {d.purpose.value for _, d in DOCS} >= {"informational", "advertising"}
    kinds = {v.kind for _, d in DOCS for v in d.variables}
    assert kinds >= {
        VariableKind.CUSTOMER,
        VariableKind.JOB,
        VariableKind.SHORT_URL,
        VariableKind.FEEDBACK_URL,
        VariableKind.IMAGE,
    }


def test_every_example_adds_cleanly_once_and_passes_the_automated_review(
    store: Store, settings: Settings
) -> None:
    # Kakao and RCS buttons take https only: the short links they carry must be https too.
    settings = settings.model_copy(update={"shortlink_base_url": "https://bnk.kr/"})
    content = ContentStore(settings.content_dir)
    for path in IMAGES.values():
        content.put_image(path.read_bytes())
    for _, doc in DOCS:
        with store.session() as session:
            result = add_content(session, doc, "examples", approve=False)
        assert (result.version, result.created, result.status) == (1, True, "draft")
        with store.session() as session:
            submitted = submit_for_review(session, doc.code, 1, "examples", settings)
        assert submitted.status == "in_review", [f.message for f in submitted.blocking]
    for _, doc in DOCS:
        with store.session() as session:
            assert not add_content(session, doc, "examples", approve=False).created


def test_image_refs_are_the_shipped_images(tmp_path: Path) -> None:
    content = ContentStore(tmp_path)
    for _, doc in DOCS:
        refs = [r for v in doc.variables if v.choices for r in v.choices.values()]
        for variant in doc.variants:
            for image in variant.payload.images:
                # The payload's size and pixels are what the content store reads from the file.
                stored = content.put_image(IMAGES[image.ref].read_bytes(), link=image.link)
                assert stored == image
                refs.append(image.ref)
        assert all(ref in IMAGES for ref in refs), refs


def _sample(spec: VariableSpec) -> str:
    if spec.kind is VariableKind.CUSTOMER:
        return {"name": "김민수", "branch": "강남지점"}.get(spec.source_field, "C0000001")
    if spec.kind in (VariableKind.SHORT_URL, VariableKind.FEEDBACK_URL):
        return "https://bnk.kr/Ab3dE5fG7hJ9"
    if spec.kind is VariableKind.IMAGE:
        assert spec.choices is not None
        return "https://bnk.kr/i/" + spec.choices["default"]
    if spec.kind is VariableKind.PHRASE:
        return spec.default or "늘 감사합니다."
    value = {"date": "2026-12-15", "decimal": "4.5", "int": "3", "url": "https://bank.example/"}
    return value.get(spec.type, "UMS 플래티넘카드")[: spec.max_length]


def _kakao_form(template: str) -> str:
    """The approved AlimTalk template as Kakao writes it: #{var} for each tag."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"#{\1}", template)


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[d.code for _, d in DOCS])
def test_each_variant_renders_to_a_valid_message(name: str, doc: ContentDocument) -> None:
    values = {spec.name: _sample(spec) for spec in doc.variables}
    for v in doc.variants:
        text = render(f"{v.channel}.body", v.body, values)
        subject = render(f"{v.channel}.subject", v.subject, values) if v.subject else None
        payload = render_payload(v.payload, lambda path, source: render(path, source, values))
        result = check_message(
            v.channel,
            text,
            subject=subject,
            purpose=doc.purpose.value,
            payload=payload,
            approved_template=_kakao_form(v.body) if v.channel == "alimtalk" else None,
        )
        assert result.ok, (name, v.channel, [x.message for x in result.violations])
        if doc.purpose.value == "advertising":
            # A push shows its label in the title; the opt-out is the app's settings.
            labelled = subject if v.channel == "push" else text
            assert labelled is not None and labelled.startswith("(광고)"), (name, v.channel)
            assert "080-" in text or v.channel == "push", (name, v.channel)
