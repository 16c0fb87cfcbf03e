-- Channel × message type with display names for reports. Pairs seen in the data but not
-- named here (a new provider product) still get a row, named by their codes, so a join
-- from the facts never drops messages.
with channels (channel, channel_name_ko, channel_name_en, channel_order) as (
    values
        ('push', '앱 푸시', 'App push', 1),
        ('alimtalk', '카카오 알림톡', 'KakaoTalk AlimTalk', 2),
        ('sms', '문자', 'Text message', 3),
        ('email', '이메일', 'E-mail', 4)
),

message_types (message_type, message_type_name_ko, message_type_name_en, message_type_order) as (
    values
        ('PUSH', '앱 푸시', 'Push notification', 1),
        ('ALIMTALK', '알림톡', 'AlimTalk', 2),
        ('SMS', '단문 문자(SMS)', 'Short text (SMS)', 3),
        ('LMS', '장문 문자(LMS)', 'Long text (LMS)', 4),
        ('EMAIL', '이메일', 'E-mail', 5)
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
