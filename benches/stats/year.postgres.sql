-- The dashboard's aggregates computed straight from the records (PostgreSQL), for comparing
-- with the service: `run.sh` replaces :start and :end with the period's UTC bounds.
-- Calls by final state, and how many went through the on-call mobile.
select c.state, count(*), sum((exists (select 1 from call_events o where o.call_id = c.id and o.state = 'overflowed'))::int)
  from calls c where c.opened_at >= :start and c.opened_at < :end group by c.state;
-- First-time, repeat (a call from the same number within 30 days before) and withheld.
select count(*), sum((c.caller_hash is null)::int),
  sum((c.caller_hash is not null and exists (select 1 from calls p where p.caller_hash = c.caller_hash
    and p.opened_at < c.opened_at and p.opened_at >= c.opened_at - interval '30 days'))::int)
  from calls c where c.opened_at >= :start and c.opened_at < :end;
-- Calls by UTC hour.
select date_trunc('hour', c.opened_at), count(*) from calls c
  where c.opened_at >= :start and c.opened_at < :end group by 1;
-- Waits and talks: every value sorted.
select count(*), max(v) from (select round(extract(epoch from (a.at - c.opened_at))) v
  from calls c join call_events a on a.call_id = c.id and a.state = 'answered'
  where c.opened_at >= :start and c.opened_at < :end order by v) x;
select count(*), max(v) from (select round(extract(epoch from (e.at - a.at))) v
  from calls c join call_events a on a.call_id = c.id and a.state = 'answered'
  join call_events e on e.call_id = c.id and e.state = 'ended'
  where c.opened_at >= :start and c.opened_at < :end order by v) x;
select o.outcome, count(*) from calls c left join call_outcomes o on o.call_id = c.id
  where c.opened_at >= :start and c.opened_at < :end group by 1;
-- Intakes completed: every answer counted by its code, per territory.
select coalesce(nullif((i.answers::jsonb -> 'territory' ->> 'value'), 'unknown'), c.territory_hint) t,
  (i.answers::jsonb -> 'relevance' ->> 'value'), (i.answers::jsonb -> 'gender' ->> 'value'),
  (i.answers::jsonb -> 'nationality' ->> 'value'), (i.answers::jsonb -> 'caller_type' ->> 'value'),
  (i.answers::jsonb -> 'reason' ->> 'value'), (i.answers::jsonb -> 'callback' ->> 'value'),
  case when (i.answers::jsonb -> 'minor' ->> 'value') = 'yes' or (i.answers::jsonb -> 'age_band' ->> 'value') in ('under_14', '14_17') then 'minor'
    when (i.answers::jsonb -> 'minor' ->> 'value') = 'no' then 'adult' else 'unknown' end,
  exists (select 1 from referrals r where r.intake_id = i.id), count(*)
  from intakes i left join calls c on c.id = i.call_id
  where i.status = 'complete' and i.created_at >= :start and i.created_at < :end group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
select x.value, count(*) from intakes i cross join lateral jsonb_array_elements_text(i.answers::jsonb -> 'exploitation' -> 'value') x(value)
  where i.status = 'complete' and i.created_at >= :start and i.created_at < :end
  and (i.answers::jsonb -> 'relevance' ->> 'value') = 'pertinent' group by 1;
-- Mediation by language, fulfilled, and time to the mediator.
select m.language, count(*), sum((exists (select 1 from mediation_events e where e.request_id = m.id and e.state in ('joined', 'called_back')))::int)
  from mediation_requests m where m.requested_at >= :start and m.requested_at < :end group by 1;
select count(*), max(v) from (select min(round(extract(epoch from (e.at - m.requested_at)))) v
  from mediation_requests m join mediation_events e on e.request_id = m.id and e.state in ('joined', 'called_back')
  where m.requested_at >= :start and m.requested_at < :end group by m.id order by v) x;
-- Referrals by unit, answers, escalations, and time to the answer.
select r.unit_code, count(*), sum((r.state in ('acknowledged', 'closed'))::int), sum((r.state = 'declined')::int),
  sum((exists (select 1 from deliveries d where d.referral_id = r.id and d.minute > 0))::int)
  from referrals r where r.created_at >= :start and r.created_at < :end group by 1;
select count(*), max(v) from (select round(extract(epoch from (r.acknowledged_at - r.created_at))) v
  from referrals r where r.created_at >= :start and r.created_at < :end and r.acknowledged_at is not null order by v) x;
