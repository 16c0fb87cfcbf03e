-- Per Korea-time day × channel × message type: how many were requested, reached the
-- provider, and how they ended. delivered + failed + fell_back + expired + cancelled +
-- in_flight = requested. success_rate is delivered / sent (NULL when nothing was sent);
-- latency percentiles are over delivered messages, from request to completion.
select
    f.sent_day as report_day,
    f.channel,
    f.message_type,
    d.channel_name_ko,
    d.channel_name_en,
    d.message_type_name_ko,
    d.message_type_name_en,
    d.channel_order,
    d.message_type_order,
    count(*) as requested,
    count(*) filter (where f.is_sent) as sent,
    count(*) filter (where f.is_delivered) as delivered,
    count(*) filter (where f.is_failed) as failed,
    count(*) filter (where f.fell_back) as fell_back,
    count(*) filter (where f.is_expired) as expired,
    count(*) filter (where f.is_cancelled) as cancelled,
    count(*) filter (where f.outcome = 'in_flight') as in_flight,
    cast(count(*) filter (where f.is_delivered) as double)
    / nullif(count(*) filter (where f.is_sent), 0) as success_rate,
    quantile_cont(f.latency_seconds, 0.5) filter (where f.is_delivered) as latency_p50_seconds,
    quantile_cont(f.latency_seconds, 0.95) filter (where f.is_delivered) as latency_p95_seconds
from fct_messages as f
left join dim_channel as d on f.channel = d.channel and f.message_type = d.message_type
group by all
order by report_day, d.channel_order, d.message_type_order
