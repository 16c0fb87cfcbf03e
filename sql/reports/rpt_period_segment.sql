-- Per Korea-time day × job × channel: the counts the weekly and monthly reports add up
-- over their period. Department and purpose live on the job (in the store, not in the
-- export), so the report joins them by job_id at render time; a day grain lets one model
-- serve any period. cost is the KRW sum of unit_price over delivered legs (a leg that was
-- never delivered is not billed); fell_back counts legs that handed over to a next leg.
select
    f.sent_day as report_day,
    f.job_id,
    f.channel,
    count(*) as requested,
    count(*) filter (where f.is_first_leg) as first_legs,
    count(*) filter (where f.is_sent) as sent,
    count(*) filter (where f.is_delivered) as delivered,
    count(*) filter (where f.is_failed) as failed,
    count(*) filter (where f.fell_back) as fell_back,
    coalesce(sum(f.unit_price) filter (where f.is_delivered), 0) as cost
from fct_messages as f
group by all
