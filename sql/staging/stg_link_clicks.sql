-- One row per click on a short link, typed and renamed, with the link's job and the key of
-- the message (leg) that carried it. click_day is the Korea-time day of the click.
select
    cast(id as bigint) as click_id,
    code as short_code,
    clicked_at,
    lower(kind) as link_kind,
    job_id,
    message_key,
    cast(position as integer) as link_position,
    local_day(clicked_at) as click_day
from src_link_clicks
