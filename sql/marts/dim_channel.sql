-- Channel × message type with display names for reports. Pairs seen in the data but not
-- named here (a new provider product) still get a row, named by their codes, so a join
-- from the facts never drops messages.
with channels (channel, channel_name_ko, channel_name_en, channel_order) as (
    values
        ('push', '앱 푸시', 'App push', 1),
        ('alimtalk', '카카오 알림톡', 'KakaoTalk AlimTalk', 2),
        ('sms', '문자', 'Text message', 3),
        ('email', '이메일', 'E-mail', 4),
        ('rcs', 'RCS 메시지', 'RCS message', 5),
        ('friendtalk', '카카오 친구톡', 'KakaoTalk FriendTalk', 6),
        ('brand', '카카오 브랜드 메시지', 'KakaoTalk brand message', 7),
        ('dm', '우편(DM)', 'Direct mail', 8)
),

message_types (message_type, message_type_name_ko, message_type_name_en, message_type_order) as (
    values
        ('PUSH', '앱 푸시', 'Push notification', 1),
        ('ALIMTALK', '알림톡', 'AlimTalk', 2),
        ('SMS', '단문 문자(SMS)', 'Short text (SMS)', 3),
        ('LMS', '장문 문자(LMS)', 'Long text (LMS)', 4),
        ('EMAIL', '이메일', 'E-mail', 5),
        ('FCM', '앱 푸시(Android)', 'Push (FCM)', 6),
        ('APNS', '앱 푸시(iOS)', 'Push (APNs)', 7),
        ('MMS', '멀티미디어 문자(MMS)', 'Multimedia text (MMS)', 8),
        ('INTL_SMS', '국제 문자', 'International SMS', 9),
        ('RCS_SMS', 'RCS 단문', 'RCS short', 10),
        ('RCS_LMS', 'RCS 장문', 'RCS long', 11),
        ('RCS_MMS', 'RCS 멀티미디어', 'RCS multimedia', 12),
        ('RCS_TEMPLATE', 'RCS 템플릿', 'RCS template', 13),
        ('FRIENDTALK_TEXT', '친구톡 텍스트', 'FriendTalk text', 14),
        ('FRIENDTALK_IMAGE', '친구톡 이미지', 'FriendTalk image', 15),
        ('FRIENDTALK_WIDE', '친구톡 와이드', 'FriendTalk wide', 16),
        ('BRAND', '브랜드 메시지', 'Brand message', 17),
        ('DM', '우편물', 'Letter', 18)
),

pairs as (
    select * from (
        values ('push', 'PUSH'), ('alimtalk', 'ALIMTALK'), ('sms', 'SMS'), ('sms', 'LMS'),
            ('email', 'EMAIL')
    ) as known (channel, message_type)
    union
    select distinct channel, message_type from stg_messages
)

select
    p.channel,
    p.message_type,
    coalesce(c.channel_name_ko, p.channel) as channel_name_ko,
    coalesce(c.channel_name_en, p.channel) as channel_name_en,
    coalesce(t.message_type_name_ko, p.message_type) as message_type_name_ko,
    coalesce(t.message_type_name_en, p.message_type) as message_type_name_en,
    coalesce(c.channel_order, 99) as channel_order,
    coalesce(t.message_type_order, 99) as message_type_order
from pairs as p
left join channels as c on p.channel = c.channel
left join message_types as t on p.message_type = t.message_type
