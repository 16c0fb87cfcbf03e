-- Per Korea-time day × job × first channel: how many contacts were made and how customers
-- responded (contact/response analytics). Rates are over delivered contacts (NULL when none
-- was delivered); a contact counts once however many legs, clicks or replies it had.
select
    r.sent_day as report_day,
    r.job_id,
    r.first_channel as channel,
    count(*) as contacts,
    count(*) filter (where r.is_delivered) as delivered,
    count(*) filter (where r.is_opened) as opened,
    count(*) filter (where r.is_clicked) as clicked,
    sum(r.clicks) as clicks,
    count(*) filter (where r.is_replied) as replied,
    count(*) filter (where r.opted_out) as opted_out,
    cast(count(*) filter (where r.is_opened) as double)
    / nullif(count(*) filter (where r.is_delivered), 0) as open_rate,
    cast(count(*) filter (where r.is_clicked) as double)
    / nullif(count(*) filter (where r.is_delivered), 0) as click_rate,
    cast(count(*) filter (where r.is_replied) as double)
    / nullif(count(*) filter (where r.is_delivered), 0) as reply_rate,
    cast(count(*) filter (where r.opted_out) as double)
    / nullif(count(*) filter (where r.is_delivered), 0) as opt_out_rate
from fct_responses as r
group by all
order by report_day, r.job_id, channel
