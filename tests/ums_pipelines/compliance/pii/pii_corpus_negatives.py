"""Negative cases for the PII corpus: numbers a bank's messages are full of that are not
personal data, generated from a seed, plus handwritten near-misses."""

from __future__ import annotations

import random
from datetime import date, timedelta

Case = dict[str, object]

HANDWRITTEN = [
    # RRN shapes that are not RRNs: impossible dates, or labelled as other ids.
    "주민번호 형식 오류: 991332-1234567 은 존재하지 않는 날짜입니다.",
    "900230-1234567 은 2월 30일이라 유효하지 않습니다.",
    "거래번호 9001011234567 건이 정상 처리되었습니다.",
    "주문번호 850412-2345678 상품이 출고되었습니다.",
    "승인번호 0101011234567 (해외 결제)",
    "고객번호 1234567890123 님의 포인트가 적립되었습니다.",
    "운송장번호 9912311234567 배송 중입니다.",
    "000229-1123456 은 1900년 2월 29일(평년)이라 존재하지 않습니다.",
    "입금 확인 번호 2026-1126-0001 로 조회하세요.",
    "입금 요청 번호 20261126-123456 처리 완료",
    "카드 결제 4111-1111-1111 (자릿수 부족)",
    "연락처 010-1234 (뒷자리 누락)",
    "ISBN 978-89-7914-874-9 도서 구매",
    "계좌 비밀번호 4자리를 입력하세요: 1234",
    "은행 점검 시간 23:50~00:10, 거래번호 4111111111111111",
    # Masked values are not PII any more.
    "주민등록번호 900101-1****** 로 확인되었습니다.",
    "카드 ****-****-****-1234 결제 완료",
    "연락처 010-****-5678 로 연락드리겠습니다.",
    "회신 메일 k***@example.com",
    "계좌 ***-******-*2345 로 입금 예정",
    # Template tags carry no value.
    "{{ customer.name }}님, 주민번호 {{ customer.rrn_masked }} 확인 부탁드립니다.",
    "{{ name }}@bank.co.kr 으로 회신 주세요",
    "연락처 {{ customer.phone }} / 이메일 {{ customer.email }}",
    "카드번호 {{ card_no | mask }} 결제 안내",
    "입금 계좌 {{ account }} (예금주 {{ holder }})",
    # Cards and BRNs with a wrong check digit, accounts without any account word.
    "카드번호 4111-1111-1111-1112 는 유효하지 않습니다.",
    "카드 5555 5555 5555 4445 승인 거절",
    "사업자등록번호 123-45-67890 (검증 실패)",
    "사업자번호 220-81-62518 조회 불가",
    "문서 110-123-456789 참조하여 처리 바랍니다.",
    "코드 3333-01-1234567 은 내부 관리용입니다.",
    "상품 1002-123-456789 재고 12개",
    # Businesses' representative and toll-free numbers are not personal.
    "고객센터 1588-9999 로 문의하세요.",
    "KB국민카드 1588-1688 (24시간)",
    "수신거부 무료 080-123-4567",
    "상담 1599-1111, 1644-2000, 1800-1234",
    # Passport-like product and model codes.
    "모델명 M12345678 제품 리콜 안내",
    "상품코드 S20261126 재입고",
    "주문번호 D12345678 배송 완료",
    "SKU-M12345678 재고 부족",
    "M1234567 (7자리) 는 여권번호 형식이 아닙니다.",
    # E-mail-like strings that are not addresses.
    "npm 패키지 react@18.2.0 으로 업데이트",
    "서버 user@localhost 접속 로그",
    "카카오톡 채널 @kbstar 를 추가하세요",
    "@홍길동 님이 멘션했습니다",
    # Other numbers.
    "IP 192.168.10.100 에서 로그인 시도",
    "버전 12.0.1 업데이트가 배포되었습니다.",
    "v2.10.1234 빌드 완료",
    "SHA 9f86d081884c7d65 검증 완료",
    "세션 a8f3c2e1-4b7d-4e2a-9c1f-2d3e4f5a6b7c 만료",
    "우편번호 (06236) 서울특별시 강남구 테헤란로 152",
    "서울시 강남구 역삼동 123-45 번지",
    "이벤트 기간 2026.11.26 ~ 2026.12.31",
    "발송 건수 1,234,567건 중 1,230,001건 성공",
    "대출 한도 30,000,000원, 금리 연 4.5%",
    "SM-G998N 단말 지원",
    "전화번호 02-0123-4567 은 없는 번호입니다.",
    "입금 금액 1,500,000원 확인",
    "이체 한도 50000000원 으로 변경",
]

_AMOUNTS = [
    "{n:,}원이 입금되었습니다.",
    "결제 금액 {n:,}원 (할부 3개월)",
    "이번 달 카드 이용 금액은 ₩{n:,} 입니다.",
    "대출 잔액 {n:,}원, 다음 상환일 12월 5일",
    "적금 만기 예상 금액 {n}원",
    "출금 {n:,}원 / 잔액 {m:,}원",
    "입금 {n:,}원 (예금주 홍길동)",
]
_DATES = [
    "{d:%Y-%m-%d} 까지 서류를 제출해 주세요.",
    "납부 기한: {d:%Y%m%d}",
    "{d:%Y.%m.%d} 부터 금리가 변경됩니다.",
    "{d:%Y년 %m월 %d일} 만기 예정",
    "거래일시 {d:%Y-%m-%d} {t}",
    "{d:%Y-%m-%d}T{t}+09:00 로그인",
    "조회 기간 {d:%Y%m%d}~{e:%Y%m%d}",
    "{d:%y%m%d} 발송분",
]
_TIMES = [
    "영업시간 {h:02d}:{mi:02d}~18:00",
    "예약 시각 {h:02d}:{mi:02d}:{s:02d}",
    "{h:02d}시 {mi:02d}분에 발송 예정",
    "점검 시간 {h:02d}:{mi:02d}:{s:02d}.{ms:03d}",
]
_ORDERS = [
    "주문번호 {d:%Y%m%d}-{k:07d} 결제가 완료되었습니다.",
    "주문번호: {big}",
    "[쇼핑] 주문 {big} 출고 완료",
    "order #{big} has shipped",
    "ORD-{d:%Y%m%d}-{k:06d} 접수",
    "예약번호 {k:010d} 확인",
    "접수번호 {d:%Y}-{k:08d}",
]
_TRANSACTIONS = [
    "거래번호 {big} 이체가 완료되었습니다.",
    "승인번호 {k:08d} (일시불)",
    "transaction id {big} settled",
    "TX{d:%Y%m%d}{k:09d} 처리 완료",
    "참조번호 {big} 로 문의하세요",
    "거래 ID {hexid}",
    "트랜잭션 {big} 롤백됨",
]
_TRACKING = [
    "운송장번호 {k12} 배송이 시작되었습니다.",
    "택배 송장 {k12} (CJ대한통운)",
    "tracking number {k12}",
    "배송조회: {k4}-{k4b}-{k4c}",
]
_MISC = [
    "우편번호 {zip:05d}",
    "버전 {a}.{b}.{c}",
    "release v{a}.{b}.{c}-rc{d1}",
    "쿠폰 코드 {hexid}",
    "회원번호 {k:010d} 님 등급 상향",
    "일련번호 {big}",
    "티켓 {k:012d} 발급 완료",
    "상품번호 {k:012d} 재입고 알림",
    "관리번호 {k12}",
    "문서번호 제{d:%Y}-{k:05d}호",
    "포인트 {k:,}P 적립",
    "{pct}% 할인 쿠폰이 발급되었습니다.",
]


def negatives(rng: random.Random) -> list[Case]:
    """About 330 negatives: the handwritten near-misses and generated everyday numbers."""
    cases: list[Case] = [{"kind": "negative", "text": t, "spans": []} for t in HANDWRITTEN]
    groups = ((_AMOUNTS, 50), (_DATES, 60), (_TIMES, 20), (_ORDERS, 45))
    groups += ((_TRANSACTIONS, 45), (_TRACKING, 25), (_MISC, 40))
    for templates, count in groups:
        for index in range(count):
            template = templates[index % len(templates)]
            cases.append({"kind": "negative", "text": template.format(**_values(rng)), "spans": []})
    return cases


def _values(rng: random.Random) -> dict[str, object]:
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(1100))
    return {
        "n": rng.randrange(1000, 99_000_000),
        "m": rng.randrange(1000, 99_000_000),
        "d": day,
        "e": day + timedelta(days=rng.randrange(1, 90)),
        "t": f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
        "h": rng.randrange(24),
        "mi": rng.randrange(60),
        "s": rng.randrange(60),
        "ms": rng.randrange(1000),
        "k": rng.randrange(10**7),
        "big": str(rng.randrange(10**12, 10**16)),
        "k12": str(rng.randrange(10**11, 10**12)),
        "k4": str(rng.randrange(1000, 10000)),
        "k4b": str(rng.randrange(1000, 10000)),
        "k4c": str(rng.randrange(1000, 10000)),
        "hexid": f"{rng.getrandbits(64):016x}",
        "zip": rng.randrange(1000, 63999),
        "a": rng.randrange(20),
        "b": rng.randrange(30),
        "c": rng.randrange(500),
        "d1": rng.randrange(1, 5),
        "pct": rng.randrange(5, 70),
    }
