-- One row per outbox message (every fallback leg is its own message), typed and renamed.
-- sent_day is the Korea-time day the message was requested: the same day as its Parquet
-- partition, so a day's request count never moves when late receipts arrive.
select
    cast(id as bigint) as message_id,
    idempotency_key,
    job_id,
    customer_id,
    lower(channel) as channel,
    upper(message_type) as message_type,
    provider,
    cast(leg as integer) as leg,
    cast(parent_id as bigint) as parent_message_id,
    cast(next_leg_id as bigint) as next_leg_message_id,
    cast(priority as integer) as priority,
    lower(state) as state,
    error_code,
    cast(attempts as integer) as attempts,
    created_at,
    submitted_at,
    completed_at,
    updated_at,
    cast(unit_price as double) as unit_price,
    local_day(created_at) as sent_day
from src_messages
