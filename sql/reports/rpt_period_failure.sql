-- Per Korea-time day × job × channel × error code: legs that did not deliver and carry a
-- provider error code (final failures and legs that fell back), for the reports' top
-- failure reasons.
select
    f.sent_day as report_day,
    f.job_id,
    f.channel,
    f.error_code,
    count(*) as failures
from fct_messages as f
where not f.is_delivered and f.error_code is not null
group by all
