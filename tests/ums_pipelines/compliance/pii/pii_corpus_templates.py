"""Sentences around generated PII values, per type: ``(template, bare_ok)``.

``bare_ok`` marks sentences whose wording carries the type's context word, where the
generator may also write the value without separators (as people do after a label).
"""

from __future__ import annotations

TEMPLATES: dict[str, list[tuple[str, bool]]] = {
    "KR_RRN": [
        ("고객님의 주민등록번호 {v}로 본인확인이 완료되었습니다.", True),
        ("주민번호: {v}", True),
        ("신청인 홍길동({v}) 님의 대출 서류가 접수되었습니다.", False),
        ("본인 확인을 위해 {v} 번호를 다시 입력해 주세요.", False),
        ("[KB] 김민수님 실명번호 {v} 확인 요청", True),
        ("RRN {v} verified by branch 0231", True),
        ("이서연,{v},서울시 강남구 테헤란로 1", False),
        ("상속인 박지훈 {v} 외 2명의 서류를 확인했습니다", False),
    ],
    "KR_FRN": [
        ("외국인등록번호 {v} 로 계좌 개설이 완료되었습니다.", True),
        ("외국인 고객 NGUYEN VAN AN ({v}) 님 체류기간 만료 안내", True),
        ("등록번호: {v}", True),
        ("Alien registration no. {v}", True),
        ("신청인 {v} 님의 체류자격 변경 서류가 접수되었습니다", False),
        ("WANG LI,{v},경기도 안산시 단원구", False),
    ],
    "PASSPORT": [
        ("여권번호 {v} 로 외화 환전 신청이 접수되었습니다.", True),
        ("출국 시 여권({v})을 반드시 지참하세요.", True),
        ("Passport No. {v}, expires 2031-03-14", True),
        ("해외송금 본인확인: {v}", False),
        ("고객님이 제출하신 {v} 사본이 흐리게 스캔되었습니다.", False),
        ("여권 사본 확인 결과 번호 {v} 와 성명이 일치합니다", True),
    ],
    "DRIVER_LICENSE": [
        ("운전면허번호 {v} 로 본인 인증이 완료되었습니다.", True),
        ("신분증: 운전면허증 ({v})", True),
        ("면허번호 {v} 의 적성검사 기간이 다가왔습니다.", True),
        ("Driver licence {v} verified", True),
        ("제출 서류 확인: {v} (갱신 필요)", False),
    ],
    "KR_BRN": [
        ("사업자등록번호 {v} 로 법인 계좌 개설 신청이 접수되었습니다.", True),
        ("가맹점 (주)한빛상사, 사업자번호: {v}", True),
        ("세금계산서 공급자 {v} 대표 김민수", False),
        ("개인사업자 대출 신청 ({v}) 심사가 완료되었습니다.", True),
        ("BRN {v} registered", True),
        ("거래처 한울식품 {v} 정산 예정", False),
    ],
    "CARD": [
        ("결제하신 카드번호 {v} 의 승인이 완료되었습니다.", True),
        ("신용카드 {v} 이번 달 결제 예정 금액 안내", True),
        ("체크카드({v}) 해외 사용이 차단되었습니다.", True),
        ("Card {v} was used at STARBUCKS", True),
        ("{v} 결제 취소 요청이 접수되었습니다", False),
        ("분실 신고된 {v} 은(는) 재발급 대상입니다.", False),
    ],
    "ACCOUNT": [
        ("입금 계좌: 국민은행 {v} (예금주 홍길동)", True),
        ("신한은행 {v} 로 송금해 주세요.", True),
        ("환불 계좌번호 {v} 로 3영업일 내 입금됩니다.", True),
        ("가상계좌 {v} 에 11월 30일까지 입금 바랍니다.", True),
        ("Please transfer to account {v} (Woori Bank).", True),
        ("예금주 김민수, 카카오뱅크 {v}", True),
        ("급여 이체 계좌 {v} 변경이 완료되었습니다.", True),
    ],
    "PHONE": [
        ("연락처 {v} 로 상담 예약이 확정되었습니다.", True),
        ("담당자 김민수 과장 ({v})", False),
        ("휴대폰 {v} 번호로 인증번호를 보냈습니다.", True),
        ("문의: {v} (평일 09:00~18:00)", True),
        ("고객님 {v} 의 번호 변경이 처리되었습니다", False),
        ("Tel. {v}", True),
        ("박서준,{v},VIP", False),
    ],
    "EMAIL": [
        ("이메일 {v} 로 거래내역서를 보냈습니다.", True),
        ("회신은 {v} 으로 부탁드립니다.", False),
        ("담당자: 이지우 대리 <{v}>", False),
        ("E-mail: {v}", True),
        ("{v} 님의 비밀번호가 변경되었습니다.", False),
    ],
}

# Handwritten positives: unusual but real ways people write these values.
HANDWRITTEN: list[tuple[str, dict[str, tuple[str, str]]]] = [
    ("주민번호는 {v} 입니다", {"v": ("KR_RRN", "900101–1234567")}),
    ("(주민등록번호:{v})", {"v": ("KR_RRN", "8507152345678")}),
    ("주민번호 {v} (1800년대 출생 기록)", {"v": ("KR_RRN", "991231-9123456")}),
    ("2000년생 고객 {v} 윤년 생일", {"v": ("KR_RRN", "000229-3123456")}),
    ("2020년 10월 이후 발급 {v}", {"v": ("KR_RRN", "201015-4987654")}),
    ("외국인등록번호: {v}", {"v": ("KR_FRN", "0512317123456")}),
    ("카드번호 {v}", {"v": ("CARD", "4111 1111 1111 1111")}),
    ("VISA {v} 해외결제", {"v": ("CARD", "4111111111111111")}),
    ("Amex {v} 결제", {"v": ("CARD", "3782-822463-10005")}),
    ("카드 {v} 사용 내역", {"v": ("CARD", "5105-1051-0510-5100")}),
    ("연락처는 {v}로 주세요", {"v": ("PHONE", "010-1234-5678")}),
    ("☎ {v}", {"v": ("PHONE", "02-555-1234")}),
    ("핸드폰:{v}", {"v": ("PHONE", "01098765432")}),
    ("국제전화 {v}", {"v": ("PHONE", "+82 (0)10 1234 5678")}),
    ("휴대폰 {v} 로 연락", {"v": ("PHONE", "010 - 2345 - 6789")}),
    ("메일 {v}", {"v": ("EMAIL", "KIM.MINSU@NAVER.COM")}),
    ("메일({v})", {"v": ("EMAIL", "minsu.kim@bank.co.kr")}),
    ("mailto:{v}", {"v": ("EMAIL", "jiwoo@kakao.com")}),
    ("농협 {v} 예금주 이서연", {"v": ("ACCOUNT", "302-1234-5678-91")}),
    ("우리은행{v}", {"v": ("ACCOUNT", "1002-345-678901")}),
    ("입금계좌:하나 {v}", {"v": ("ACCOUNT", "123-456789-12345")}),
    ("여권 {v} 만료 예정", {"v": ("PASSPORT", "M70689098")}),
    ("PASSPORT: {v}", {"v": ("PASSPORT", "S12345678")}),
    ("운전면허 {v} 확인", {"v": ("DRIVER_LICENSE", "11-98-123456-01")}),
    ("면허: {v}", {"v": ("DRIVER_LICENSE", "서울12-345678-90")}),
    ("사업자 등록 번호 : {v}", {"v": ("KR_BRN", "214-87-98889")}),
    ("공급자 {v} (주)다온", {"v": ("KR_BRN", "134-86-72683")}),
]
