-- One row per contact (a first leg and the fallback legs that followed it) with what the
-- customer did: delivered on some leg, opened it where the channel tells (an e-mail pixel
-- or an app's open report: a handset "opened" event), clicked a link of any leg, replied
-- to any leg, or opted out by reply. A response counts for the contact whatever leg carried it, so a
-- click on the SMS fallback of a failed AlimTalk is the contact's click.
with keys as (
    select
        s.idempotency_key,
        f.root_message_id
    from stg_messages as s
    inner join fct_messages as f on s.message_id = f.message_id
),

clicks as (
    select
        k.root_message_id,
        count(*) as clicks,
        count(*) filter (where c.link_kind = 'feedback') as feedback_clicks,
        min(c.clicked_at) as first_click_at
    from stg_link_clicks as c
    inner join keys as k on c.message_key = k.idempotency_key
    group by k.root_message_id
),

opens as (
    select
        f.root_message_id,
        min(e.occurred_at) as first_open_at
    from stg_delivery_events as e
    inner join fct_messages as f on e.message_id = f.message_id
    where e.status = 'opened'
    group by f.root_message_id
),

replies as (
    select
        f.root_message_id,
        count(*) as replies,
        count(*) filter (where r.route = 'opt_out') as opt_out_replies,
        min(r.received_at) as first_reply_at
    from stg_mo_replies as r
    inner join fct_messages as f on r.message_id = f.message_id
    group by f.root_message_id
),

chains as (
    select
        root_message_id,
        count(*) as legs,
        bool_or(is_delivered) as is_delivered,
        arg_min(channel, leg) filter (where is_delivered) as delivered_channel,
        min(completed_at) filter (where is_delivered) as delivered_at
    from fct_messages
    group by root_message_id
)

select
    f.root_message_id as contact_id,
    f.job_id,
    f.customer_id,
    f.channel as first_channel,
    f.sent_day,
    ch.legs,
    ch.is_delivered,
    ch.delivered_channel,
    ch.delivered_at,
    o.first_open_at is not null as is_opened,
    o.first_open_at,
    coalesce(c.clicks, 0) as clicks,
    coalesce(c.feedback_clicks, 0) as feedback_clicks,
    coalesce(c.clicks, 0) > 0 as is_clicked,
    c.first_click_at,
    coalesce(r.replies, 0) as replies,
    coalesce(r.replies, 0) > 0 as is_replied,
    coalesce(r.opt_out_replies, 0) > 0 as opted_out,
    r.first_reply_at
from fct_messages as f
inner join chains as ch on f.root_message_id = ch.root_message_id
left join clicks as c on f.root_message_id = c.root_message_id
left join opens as o on f.root_message_id = o.root_message_id
left join replies as r on f.root_message_id = r.root_message_id
where f.message_id = f.root_message_id
