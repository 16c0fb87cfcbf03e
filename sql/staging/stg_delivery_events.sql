-- One row per delivery receipt stage (ums, relay, carrier, handset), typed and renamed.
-- event_day is the Korea-time day the event happened, which may be after the message's
-- sent_day (a receipt arriving after midnight).
select
    cast(id as bigint) as event_id,
    cast(message_id as bigint) as message_id,
    lower(stage) as stage,
    lower(status) as status,
    code as status_code,
    occurred_at,
    recorded_at,
    local_day(occurred_at) as event_day
from src_delivery_events
