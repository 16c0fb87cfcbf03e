-- One row per message (per leg of a fallback chain) with its outcome as of the export.
--
-- outcome splits the messages into exclusive groups, so the groups of a day add up to
-- its requests: delivered, fell_back (this leg handed over to a next leg, whatever its
-- own state), failed / expired / cancelled (final, no next leg) and in_flight. A leg that
-- delivered counts as delivered even if a next leg exists: the handset is the truth.
with recursive chain (message_id, root_message_id) as (
    select message_id, message_id
    from stg_messages
    where parent_message_id is null
    union all
    select m.message_id, c.root_message_id
    from stg_messages as m
    inner join chain as c on m.parent_message_id = c.message_id
),

receipts as (
    select
        message_id,
        count(*) as event_count,
        min(occurred_at) filter (where status = 'delivered') as delivered_event_at,
        arg_min(stage, occurred_at) filter (where status = 'failed') as failed_stage
    from stg_delivery_events
    group by message_id
),

classified as (
    select
        *,
        case
            when state = 'delivered' then 'delivered'
            when next_leg_message_id is not null then 'fell_back'
            when state in ('failed', 'expired', 'cancelled') then state
            else 'in_flight'
        end as outcome
    from stg_messages
)

select
    m.message_id,
    -- A leg whose parent is missing (removed by retention) is the root of what is left.
    coalesce(c.root_message_id, m.message_id) as root_message_id,
    m.parent_message_id,
    m.next_leg_message_id,
    m.job_id,
    m.customer_id,
    m.channel,
    m.message_type,
    m.provider,
    m.priority,
    m.leg,
    m.leg = 0 as is_first_leg,
    m.leg > 0 as is_fallback_leg,
    m.state as final_state,
    m.outcome,
    m.state in ('delivered', 'failed', 'expired', 'cancelled') as is_terminal,
    -- Reached the provider: submitted, or a state only a submitted message can have.
    (m.submitted_at is not null or m.state in ('submitted', 'accepted', 'delivered')) as is_sent,
    m.outcome = 'delivered' as is_delivered,
    m.outcome = 'failed' as is_failed,
    m.outcome = 'fell_back' as fell_back,
    m.outcome = 'expired' as is_expired,
    m.outcome = 'cancelled' as is_cancelled,
    m.error_code,
    m.unit_price,
    m.attempts,
    m.created_at,
    m.submitted_at,
    m.completed_at,
    epoch(m.completed_at - m.created_at) as latency_seconds,
    m.sent_day,
    coalesce(r.event_count, 0) as event_count,
    r.delivered_event_at,
    r.failed_stage
from classified as m
left join chain as c on m.message_id = c.message_id
left join receipts as r on m.message_id = r.message_id
