-- One row per inbound reply (MO), typed and renamed: which message it answers (NULL when it
-- matched none), the keyword and where it was routed (opt_out | care | unmatched). The
-- sender's number and the text stay in the store. reply_day is the Korea-time day received.
select
    cast(id as bigint) as mo_id,
    provider,
    lower(channel) as channel,
    cast(message_id as bigint) as message_id,
    keyword,
    lower(route) as route,
    received_at,
    recorded_at,
    local_day(received_at) as reply_day
from src_mo_messages
