"""Structure parsing: the seed page, numbered policy documents, .jsonl corpora, layout rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import SourceError
from rag.parsing import Corpus, describe, load_documents, parse_source
from rag.schema import Document
from rag.sentences import split_sentences
from rag.sources import scan_sources

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "policy_numbered.md"
STEM = "shanghai_cpc_plenary_2021-06-22_soft_power"

# Copied from the seed; paragraph 6 is lines 17 + 19 joined at 要强|化.
RESOLUTION_PARAGRAPHS = (
    "中国共产党上海市第十一届委员会于2021年6月22日召开第十一次全体会议。出席这次全会的有市委委员79人，市委候补委员2人。市纪委委员、有关方面负责同志和党的十九大上海代表、市第十一次党代会大会代表列席了全会。",
    "全会由市委常委会主持。全会审议通过了《中共上海市委关于厚植城市精神彰显城市品格全面提升上海城市软实力的意见》。李强同志就《意见(讨论稿)》作了说明并讲话。",
    "全会认为，习近平总书记亲自提炼概括了“海纳百川、追求卓越、开明睿智、大气谦和”的上海城市精神和“开放、创新、包容”的上海城市品格，对提升软实力作出一系列重要论述，为上海加快打造具有世界影响力的社会主义现代化国际大都市相匹配的城市软实力指明了前进方向。全市要深入贯彻落实习近平总书记考察上海重要讲话和在浦东开发开放30周年庆祝大会上重要讲话精神，以提升城市能级和核心竞争力为战略牵引，以培育和践行社会主义核心价值观为根本任务，以弘扬城市精神和城市品格为价值引领，以用好红色文化、海派文化、江南文化资源为关键支撑，以增强城市凝聚力、吸引力、创造力、竞争力、影响力为主攻方向，全面提升引领全国、辐射亚太、影响全球的城市软实力，让核心价值凝心铸魂、让文化魅力竞相绽放、让现代治理引领未来、让法治名片更加闪亮、让都市风范充分彰显、让天下英才近悦远来，形成既讲规则秩序、又显蓬勃活力，既有国际风范、又有东方神韵，既能各美其美、又能美美与共，既可触摸历史、又能拥抱未来，既崇尚人奋斗出彩、又体现处处守望相助，那样一种干事创业热土、幸福生活乐园的生动图景。",
    "全会指出，大力弘扬城市精神品格，要有不懈的追求，志存高远、勇攀高峰，展现敢为天下先、当惊世界殊的志向与勇气；要有澎湃的活力，矢志创新、不断创造，让这座城市迸发无穷的创造力、展现无限的可能性；要有宽广的胸怀，海纳百川、有容乃大，更好地在服务全国中发展自己、在面向世界中博采众长。全面提升城市软实力，要坚持放大共性优势与彰显个性特质相结合、对内凝聚人心与对外塑造形象相结合、长期绵绵用力与阶段突破跃升相结合、整体目标导向与人人竞相参与相结合、提升软实力与增强硬实力相结合，为全面提升城市能级和核心竞争力厚植实力之基。",
    "全会要求，要着力弘扬社会主义核心价值观，铸牢城市软实力的精神内核，坚守共产党人的精神家园，焕发昂扬奋进的精神风貌，塑造新时代市民的新形象。要着力提升文化品位，塑造城市软实力的神韵魅力，构筑更具国际影响力的文化高地，培育涌现更多原创性的文化精品，保护传承“最上海”的城市文脉。要着力构建现代治理体系，坚持把法治作为最根本的治理方式，展现城市软实力的善治效能，全力打造善治城市典范，积极参与全球治理体系变革。要着力优化创新创业生态，焕发城市软实力的发展活力，打造引领未来的创新策源地，建设开放共享的创新试验场，营造英才汇聚的创新“强磁场”。要着力增强全球叙事能力，扩大城市软实力的国际影响，塑造城市品牌形象，讲好精彩城市故事，构筑对外交流平台。",
    "全会强调，弘扬城市精神品格、提升城市软实力是一项关乎长远的复杂系统工程。要强化党的全面领导，建立健全党委领导、各方面齐抓共管、全社会共同参与的工作格局，把城市精神品格融入改革开放和现代化建设全过程各方面，提高各级领导干部领导城市软实力建设的政治能力和专业化水平。要强化全方位支撑保障，深化软实力建设的理论和实践研究，形成系统完备、有效管用的政策制度体系，探索多元化、多渠道、多层次的投入机制。要强化全社会广泛参与，整合提升一批城市软实力资源要素，打造一批有显示度的城市软实力建设亮点，形成一批可复制可推广的经验做法，营造“人人参与软实力建设”的浓厚氛围，形成“人人都是软实力”的生动局面。",
    "全会指出，要全力以赴做好当前和下半年各项工作，精心组织好庆祝建党百年系列活动，毫不松懈抓好常态化疫情防控，全力促进经济持续向好，扎实抓好重点民生工作，坚决守牢城市安全底线，深入开展党史学习教育和“四史”宣传教育，切实抓好政法队伍教育整顿，有序推进区、乡镇领导班子换届工作，以优异成绩庆祝中国共产党百年华诞。",
    "全会号召，全市各级党组织和广大党员干部群众要更加紧密地团结在以习近平同志为核心的党中央周围，以习近平新时代中国特色社会主义思想为指导，全面贯彻党的十九大和十九届二中、三中、四中全会精神，深入贯彻落实习近平总书记考察上海重要讲话和在浦东开发开放30周年庆祝大会上重要讲话精神，更加自觉地弘扬城市精神品格，更加主动地提升城市软实力，齐心协力、奋力拼搏，比学赶超、善作善成，创造出令世界刮目相看的新奇迹，展现出社会主义现代化国家的新气象，为实现中华民族伟大复兴中国梦而不懈奋斗！",
)
SIDE_TITLE = "发挥软实力“加速器”作用，为“更好的上海”厚植实力之基"
SIDE_KICKER = (
    "深入贯彻落实总书记对上海工作重要指示要求，着眼全面完成党中央赋予上海的重大使命任务，"
    "传承红色基因，更加自觉地弘扬城市精神品格，更加主动地提升城市软实力"
)
SECTION_BIG = "做强软实力，就要持守上海之“大”"
SECTION_NEW = "做优软实力，就要凸显上海之“新”"


@pytest.fixture(scope="module")
def seed() -> Corpus:
    return load_documents(SEED)


@pytest.fixture(scope="module")
def resolution(seed: Corpus) -> Document:
    return seed.documents[0]


@pytest.fixture(scope="module")
def side(seed: Corpus) -> Document:
    return seed.documents[1]


def texts(doc: Document) -> list[str]:
    return [doc.text[p.start : p.end] for p in doc.body_paragraphs]


def by_line(doc: Document, line: int) -> str:
    return next(doc.text[p.start : p.end] for p in doc.paragraphs if line in p.source_lines)


def assert_spans_exact(doc: Document, blocks_joined: bool = True) -> None:
    """Every span indexes the text; sentences tile their paragraph up to whitespace."""
    for p in doc.paragraphs:
        body = doc.text[p.start : p.end]
        assert body == body.strip() and body
        assert [(s.start, s.end) for s in p.sentences] == split_sentences(doc.text, p.start, p.end)
        cursor = p.start
        for s in p.sentences:
            assert cursor <= s.start < s.end <= p.end
            assert not doc.text[cursor : s.start].strip()
            cursor = s.end
        assert cursor == p.end
    for h in doc.headings:
        assert doc.text[h.start : h.end] == h.text
    if blocks_joined:
        spans = sorted(
            {(h.start, h.end) for h in doc.headings} | {(p.start, p.end) for p in doc.paragraphs}
        )
        assert "\n\n".join(doc.text[s:e] for s, e in spans) == doc.text


# --------------------------------------------------------------------------- seed


def test_seed_has_two_documents(seed: Corpus) -> None:
    assert [d.doc_id for d in seed.documents] == [f"{STEM}/resolution", f"{STEM}/side_report"]
    assert [d.kind for d in seed.documents] == ["resolution", "side_report"]
    assert seed.source_hashes.keys() == {SEED.name}
    assert seed.warnings == ()


def test_resolution_paragraphs_exactly(resolution: Document) -> None:
    assert texts(resolution) == list(RESOLUTION_PARAGRAPHS)
    assert [p.number for p in resolution.body_paragraphs] == list(range(1, 9))
    assert resolution.paragraph(6).source_lines == (17, 19)
    assert all(p.section == () for p in resolution.paragraphs)


def test_resolution_head(resolution: Document) -> None:
    assert resolution.title == "十一届市委十一次全会决议"
    assert resolution.date == "2021-06-22"
    assert resolution.subtitle == ""
    roles = [(h.role, h.text) for h in resolution.headings]
    assert roles == [
        ("title", "十一届市委十一次全会决议"),
        ("dateline", "(2021年6月22日中国共产党上海市第十一届委员会第十一次全体会议通过)"),
    ]
    assert resolution.text.startswith("十一届市委十一次全会决议\n\n(2021年6月22日")
    assert resolution.text.endswith("为实现中华民族伟大复兴中国梦而不懈奋斗！")
    assert resolution.metadata == ()


def test_side_report_head(side: Document) -> None:
    assert side.title == SIDE_TITLE
    assert side.subtitle == "——十一届市委十一次全会侧记"
    roles = {h.role: h.text for h in side.headings if h.role != "section"}
    assert roles == {
        "title": SIDE_TITLE,
        "kicker": SIDE_KICKER,
        "subtitle": "——十一届市委十一次全会侧记",
        "byline": "■本报记者 顾一琼 唐玮婕 陆益峰 王嘉旸",
    }
    assert side.date == ""


def test_side_report_body(side: Document) -> None:
    body = texts(side)
    assert len(body) == 19
    assert body[0].startswith("在中国共产党即将迎来百年华诞之际")
    assert body[1] == "这，需要一个“加速器”——软实力。"
    assert body[-1].endswith(
        "来实现这种具有倍增效应、乘数效应的突破性跃升“跳变”，推动城市软实力迅速迈上新台阶。"
    )
    assert by_line(side, 72).endswith(
        "今天上海的价值更要体现在为全国甚至为全球提供高能级的服务上。搭建大平台、畅通大循环，让发展的半径和扇面更大，让服务和辐射的能力更强。"
    )
    assert side.body_paragraphs[-1].source_lines == (94, 84)
    # Line 82's continuation is not on the page: it stays as printed, not glued to line 84.
    assert by_line(side, 82).endswith("通过自由化、便利化、")
    assert by_line(side, 58).startswith("跑、携最优者同行")


def test_side_report_duplicates_dropped(side: Document) -> None:
    body = texts(side)
    assert len(body) == len(set(body))
    lines = {n for p in side.body_paragraphs for n in p.source_lines}
    assert lines.isdisjoint({60, 62, 64})
    assert {44, 46, 48} <= lines


def test_side_report_sections(side: Document) -> None:
    sections = [h.text for h in side.headings if h.role == "section"]
    assert sections == [SECTION_BIG, SECTION_NEW]
    paths = [tuple(s.display for s in p.section) for p in side.body_paragraphs]
    first_big = next(k for k, p in enumerate(side.body_paragraphs) if 70 in p.source_lines)
    assert paths[:first_big] == [()] * first_big
    assert paths[first_big:-1] == [(SECTION_BIG,)] * (len(paths) - 1 - first_big)
    assert paths[-1] == (SECTION_NEW,)
    ref = side.body_paragraphs[-1].section[0]
    assert (ref.label, ref.title, ref.level) == ("", SECTION_NEW, 1)


def test_no_layout_block_is_a_body_paragraph(seed: Corpus) -> None:
    for doc in seed.documents:
        for body in texts(doc):
            assert "本报记者" not in body and "制图" not in body
            assert body not in (SECTION_BIG, SECTION_NEW, SIDE_TITLE, SIDE_KICKER)
            assert not body.startswith(("#", "(2021年", "——"))
            assert body not in ("武康大楼成为网红打卡点。", "衡复风貌区人文气息浓郁。")


def test_side_report_captions_are_quotable_text(side: Document) -> None:
    # Captions and credits are text of the page (issue 10 item 5): in the stored text, in
    # reading order, as paragraphs of their own role numbered after the body paragraphs.
    extra = [p for p in side.paragraphs if p.role in ("caption", "credit")]
    assert [p.number for p in extra] == list(range(20, 20 + len(extra)))
    assert tuple(side.text[p.start : p.end] for p in extra) == (
        "在昨天十一届市委十一次全会上，市委委员庄木弟、沈炜、杭迎伟、贺东风、陈虹(从左至右)在发言。",
        "均本报记者 叶辰亮摄",
        "塑造人性化城市，人文化气息，人情味生活",
        "武康大楼成为网红打卡点。",
        "衡复风貌区人文气息浓郁。",
        "塑造独特的文化神韵，打造最佳的人居体验",
        "均本报记者 袁剑摄",
        "制图：李洁",
    )
    assert [p.role for p in extra] == ["caption", "credit", *["caption"] * 4, "credit", "credit"]
    assert side.metadata == ()
    assert_spans_exact(side)


def test_seed_repairs(seed: Corpus, resolution: Document, side: Document) -> None:
    assert [(r.kind, r.lines) for r in resolution.repairs] == [("joined", (17, 19))]
    assert [(r.kind, r.lines) for r in side.repairs] == [
        ("duplicate_dropped", (60,)),
        ("duplicate_dropped", (62,)),
        ("duplicate_dropped", (64,)),
        ("joined", (72, 74)),
        ("joined", (94, 84)),
        ("fragment_flagged", (58,)),
        ("fragment_flagged", (82,)),
    ]
    assert all(r.source == SEED.name for r in seed.repairs)
    assert len(seed.repairs) == 8
    assert "强化" in resolution.repairs[0].detail


def test_seed_spans_index_text(seed: Corpus) -> None:
    for doc in seed.documents:
        assert_spans_exact(doc)


def test_sentence_inside_quotes_ends_at_closing_quote(side: Document) -> None:
    p = next(p for p in side.body_paragraphs if 46 in p.source_lines)
    sentences = [side.text[s.start : s.end] for s in p.sentences]
    assert len(sentences) == 1 and sentences[0].endswith("的作用。")


def test_describe_seed(seed: Corpus) -> None:
    text = describe(seed)
    for needle in (
        f"[{STEM}/resolution] 十一届市委十一次全会决议",
        "date: 2021-06-22",
        "subtitle: ——十一届市委十一次全会侧记",
        "byline: ■本报记者 顾一琼 唐玮婕 陆益峰 王嘉旸",
        f"§ {SECTION_BIG}",
        "lines 17+19",
        "图片署名  line 107",
        "duplicate_dropped: line 60 repeats line 44",
        "fragment_flagged: line 82 ends mid-sentence",
    ):
        assert needle in text


# --------------------------------------------------------------------------- numbered policy


@pytest.fixture(scope="module")
def policies() -> Corpus:
    return load_documents(FIXTURE)


def paths(doc: Document) -> list[str]:
    return [" ".join(s.display for s in p.section) for p in doc.body_paragraphs]


def test_policy_fixture_documents(policies: Corpus) -> None:
    ids = [(d.doc_id, d.kind, d.title) for d in policies.documents]
    assert ids == [
        ("policy_numbered/rules", "rules", "上海市城市软实力建设促进办法"),
        ("policy_numbered/opinion", "opinion", "关于全面提升城市软实力的实施意见"),
    ]
    assert policies.documents[0].date == "2021-07-01"
    for doc in policies.documents:
        assert_spans_exact(doc)
        assert doc.repairs == ()


def test_chapter_article_paths(policies: Corpus) -> None:
    doc = policies.documents[0]
    assert paths(doc) == [
        "第一章 第一条",
        "第一章 第二条",
        "第一章 第二条",  # the second clause inherits its article
        "第二章 第三条",
        "第二章 第四条",
        "第二章 第四条 （一）",
        "第二章 第四条 （二）",
        "第二章 第四条 （三）",
        "第二章 第五条",
        "第三章 第六条",  # a plain-text chapter line closes the markdown chapter before it
    ]
    first, second = doc.paragraphs[0].section, doc.paragraphs[1].section
    assert [(s.label, s.title, s.level) for s in first] == [
        ("第一章", "总则", 1),
        ("第一条", "", 2),
    ]
    assert second[1].title == "适用范围"
    sections = [(h.text, h.level) for h in doc.headings if h.role == "section"]
    assert sections == [("第一章 总则", 2), ("第二章 组织实施", 2), ("第三章 附则", 1)]


def test_list_numbering_paths(policies: Corpus) -> None:
    doc = policies.documents[1]
    assert paths(doc) == [
        "一、 （一）",
        "一、 （二）",
        "二、 （一）",
        "二、 （一） 1.",
        "二、 （一） 2.",
        "二、 （一） 2.",
        "二、 （二）",
        "三、",
    ]
    third = doc.paragraphs[2].section
    assert [(s.label, s.title) for s in third] == [
        ("二、", "重点任务"),
        ("（一）", "着力提升文化品位"),
    ]
    assert "".join(s.display for s in doc.paragraphs[6].section) == "二、（二）"
    # The signature and date under the last paragraph are not sections: they are the
    # document's 落款, quotable text of their own, and give the document its date.
    assert doc.metadata == ()
    signature = [p for p in doc.paragraphs if p.role == "signature"]
    assert [doc.text[p.start : p.end] for p in signature] == ["上海市人民政府办公厅\n2021年7月1日"]
    assert doc.date == "2021-07-01"
    assert [h.text for h in doc.headings if h.role == "section"] == [
        "一、总体要求",
        "二、重点任务",
        "三、保障措施",
    ]


# --------------------------------------------------------------------------- .jsonl


def write_jsonl(path: Path, rows: list[object]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_text_kept_exactly(tmp_path: Path) -> None:
    text = "  第一段，有前导空格。\r\n\r\n第二段！  \n第三段"
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": "A1", "title": "标题", "text": text}, "", {"id": "B", "title": "", "text": "x"}],
    )
    docs = load_documents(path).documents
    doc = docs[0]
    assert (doc.doc_id, doc.title, doc.kind) == ("A1", "标题", "record")
    assert doc.text == text.replace("\r\n", "\n")
    assert texts(doc) == ["第一段，有前导空格。", "第二段！", "第三段"]
    assert all(p.source_lines == (1,) and p.section == () for p in doc.paragraphs)
    assert docs[1].paragraphs[0].source_lines == (3,)
    assert doc.headings == () and doc.repairs == ()
    assert_spans_exact(doc, blocks_joined=False)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "c.jsonl:2: invalid JSON"),
        ('["a"]', "c.jsonl:2: expected a JSON object"),
        ({"id": "B", "text": "x"}, 'c.jsonl:2: field(s) "title" missing'),
        ({"id": 7, "title": "t", "text": "x"}, 'c.jsonl:2: field(s) "id" missing or not a string'),
        ({"id": "A", "title": "t", "text": "x"}, "c.jsonl:2: duplicate id 'A' (first on line 1)"),
    ],
)
def test_jsonl_bad_lines(tmp_path: Path, row: object, message: str) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "A", "title": "t", "text": "正文。"}, row])
    with pytest.raises(SourceError, match="bad line") as info:
        load_documents(path)
    assert message in str(info.value)


def test_jsonl_reports_every_bad_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ["{", {"id": "A", "title": "t", "text": "x"}, "[]"])
    with pytest.raises(SourceError) as info:
        load_documents(path)
    assert "c.jsonl:1:" in str(info.value) and "c.jsonl:3:" in str(info.value)


def test_cmrc_corpus_parses_fast() -> None:
    corpus_path = Path("/work/shared/bench/cmrc2018_dev/corpus.jsonl")
    if not corpus_path.exists():
        pytest.skip("benchmark corpus not available")
    import time

    started = time.perf_counter()
    corpus = load_documents(corpus_path)
    assert time.perf_counter() - started < 2.0
    assert len(corpus.documents) == 848
    rows = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines()]
    assert [d.text for d in corpus.documents] == [r["text"] for r in rows]


# --------------------------------------------------------------------------- layout rules


def parse_text(tmp_path: Path, text: str, name: str = "page.md") -> list[Document]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    scan = scan_sources(tmp_path / name)
    return parse_source(scan.files[0])


def test_single_document_id_is_the_stem(tmp_path: Path) -> None:
    docs = parse_text(
        tmp_path, "# 关于加强管理的通知\n\n各区：现将有关事项通知如下。\n", "通知 (1).md"
    )
    assert [(d.doc_id, d.kind, d.title) for d in docs] == [
        ("通知 (1)", "notice", "关于加强管理的通知")
    ]


def test_heading_group_after_body_starts_a_document(tmp_path: Path) -> None:
    page = (
        "## 第一篇报道\n\n正文第一段。\n\n### 第二篇的引题\n\n## 第二篇报道\n\n### ——副标题\n\n"
        "第二篇正文。\n\n### 小标题\n\n小标题下的正文。\n"
    )
    first, second = parse_text(tmp_path, page)
    assert (first.doc_id, first.title, texts(first)) == (
        "page/article",
        "第一篇报道",
        ["正文第一段。"],
    )
    assert (second.doc_id, second.title, second.subtitle) == (
        "page/article-2",
        "第二篇报道",
        "——副标题",
    )
    assert [h.role for h in second.headings] == ["title", "kicker", "subtitle", "section"]
    # A deeper markdown heading inside a document is a section, not a new document.
    assert [p.section[0].title if p.section else "" for p in second.body_paragraphs] == [
        "",
        "小标题",
    ]
    assert second.headings[-1].level == 3


def test_byline_after_body_starts_a_document(tmp_path: Path) -> None:
    page = "## 甲\n\n甲的正文。\n\n本报记者 张三\n\n乙的正文。\n"
    first, second = parse_text(tmp_path, page)
    assert texts(first) == ["甲的正文。"] and texts(second) == ["乙的正文。"]
    assert second.headings[0].role == "byline"


def test_sentence_starting_with_reporter_is_body(tmp_path: Path) -> None:
    (doc,) = parse_text(tmp_path, "## 标题\n\n记者近日获悉\n\n正文。\n")
    assert [h.role for h in doc.headings] == ["title", "section"]


def test_line_per_paragraph_plain_text(tmp_path: Path) -> None:
    page = (
        "上海市某某管理办法\n\u3000\u3000第一条 为了规范管理，制定本办法。\n"
        "\u3000\u3000第二条 本办法适用于本市。\n本条所称管理，是指\n日常管理。\n"
    )
    (doc,) = parse_text(tmp_path, page, "rules.txt")
    assert doc.title == "上海市某某管理办法"
    assert texts(doc) == [
        "第一条 为了规范管理，制定本办法。",
        "第二条 本办法适用于本市。",
        "本条所称管理，是指\n日常管理。",
    ]
    assert paths(doc) == ["第一条", "第二条", "第二条"]


def test_adjacent_fragment_without_word_evidence_is_not_joined(tmp_path: Path) -> None:
    fragment = (
        "这一段在版面上被截断了，后面的内容并不在本页上，"
        + "所以它只能停在这里，停在一个完整的词语而且"
    )
    (doc,) = parse_text(tmp_path, f"## 标题\n\n{fragment}\n\n第二段是另一件事。\n")
    assert len(doc.body_paragraphs) == 2
    assert [r.kind for r in doc.repairs] == ["fragment_flagged"]


def test_short_repeats_are_kept(tmp_path: Path) -> None:
    (doc,) = parse_text(tmp_path, "## 标题\n\n正文一。\n\n好的。\n\n正文二。\n\n好的。\n")
    assert len(doc.body_paragraphs) == 4 and doc.repairs == ()


def test_file_without_paragraphs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no body paragraphs"):
        parse_text(tmp_path, "# 只有标题\n")


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("正文。\n", encoding="utf-8")
    with pytest.raises(SourceError, match="duplicate document id 'a'"):
        load_documents(tmp_path)


def test_continuation_found_elsewhere_on_the_page(tmp_path: Path) -> None:
    page = (
        "## 标题\n\n"
        "各区要持续优化营商环境，加快建设现代化产业体系，推动高质量发展，全面提升城市的综合竞争\n\n"
        "第二段是另外一件事情，讲的是城市更新和旧区改造的具体安排。\n\n"
        "力、影响力和吸引力，努力创造新的更大奇迹。\n"
    )
    (doc,) = parse_text(tmp_path, page)
    assert texts(doc) == [
        "各区要持续优化营商环境，加快建设现代化产业体系，推动高质量发展，全面提升城市的综合竞争"
        "力、影响力和吸引力，努力创造新的更大奇迹。",
        "第二段是另外一件事情，讲的是城市更新和旧区改造的具体安排。",
    ]
    assert [(r.kind, r.lines) for r in doc.repairs] == [("joined", (3, 7))]
    assert_spans_exact(doc)


def test_captions_around_a_picture_gap(tmp_path: Path) -> None:
    page = (
        "## 标题\n\n正文第一段。\n\n图片上方的说明文字\n\n\n\n"
        "新建成的滨江绿地。\n\n本报记者 张三 摄\n\n正文第二段。\n"
    )
    (doc,) = parse_text(tmp_path, page)
    assert texts(doc) == ["正文第一段。", "正文第二段。"]
    captions = [(p.role, doc.text[p.start : p.end]) for p in doc.paragraphs[2:5]]
    assert captions == [
        ("caption", "图片上方的说明文字"),
        ("caption", "新建成的滨江绿地。"),
        ("credit", "本报记者 张三 摄"),
    ]
    assert [h.role for h in doc.headings] == ["title"]


def test_double_spaced_file_has_no_picture_gaps(tmp_path: Path) -> None:
    # When every block is separated by two blank lines, two blank lines mean nothing.
    page = "## 标题\n\n\n正文第一段。\n\n\n小标题\n\n\n正文第二段。\n"
    (doc,) = parse_text(tmp_path, page)
    assert [h.text for h in doc.headings if h.role == "section"] == ["小标题"]
    assert doc.metadata == ()


def test_gbk_text_file_parses(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes(
        "## 关于印发实施方案的通知\n\n各区人民政府：\n\n现印发。\n".encode("gbk")
    )
    (doc,) = load_documents(tmp_path).documents
    assert (doc.kind, doc.title, texts(doc)) == (
        "notice",
        "关于印发实施方案的通知",
        ["各区人民政府：", "现印发。"],
    )
