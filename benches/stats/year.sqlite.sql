-- The dashboard's aggregates computed straight from the records (SQLite), for comparing
-- with the service: `run.sh` replaces :start and :end with the period's UTC bounds.
-- Calls by final state, and how many went through the on-call mobile.
select c.state, count(*), sum(exists (select 1 from call_events o where o.call_id = c.id and o.state = 'overflowed'))
  from calls c where c.opened_at >= :start and c.opened_at < :end group by c.state;
-- First-time, repeat (a call from the same number within 30 days before) and withheld.
select count(*), sum(c.caller_hash is null),
  sum(c.caller_hash is not null and exists (select 1 from calls p where p.caller_hash = c.caller_hash
    and p.opened_at < c.opened_at and julianday(p.opened_at) >= julianday(c.opened_at) - 30))
  from calls c where c.opened_at >= :start and c.opened_at < :end;
-- Calls by UTC hour (the service turns hours into Rome weekday and hour).
select substr(c.opened_at, 1, 13), count(*) from calls c
  where c.opened_at >= :start and c.opened_at < :end group by 1;
-- Waits and talks: every value sorted (SQLite has no percentile aggregate).
select count(*), max(v) from (select cast(round((julianday(a.at) - julianday(c.opened_at)) * 86400) as integer) v
  from calls c join call_events a on a.call_id = c.id and a.state = 'answered'
  where c.opened_at >= :start and c.opened_at < :end order by v) x;
select count(*), max(v) from (select cast(round((julianday(e.at) - julianday(a.at)) * 86400) as integer) v
  from calls c join call_events a on a.call_id = c.id and a.state = 'answered'
  join call_events e on e.call_id = c.id and e.state = 'ended'
  where c.opened_at >= :start and c.opened_at < :end order by v) x;
select o.outcome, count(*) from calls c left join call_outcomes o on o.call_id = c.id
  where c.opened_at >= :start and c.opened_at < :end group by 1;
-- Intakes completed: every answer counted by its code, per territory.
select coalesce(nullif(json_extract(i.answers, '$.territory.value'), 'unknown'), c.territory_hint) t,
  json_extract(i.answers, '$.relevance.value'), json_extract(i.answers, '$.gender.value'),
  json_extract(i.answers, '$.nationality.value'), json_extract(i.answers, '$.caller_type.value'),
  json_extract(i.answers, '$.reason.value'), json_extract(i.answers, '$.callback.value'),
  case when json_extract(i.answers, '$.minor.value') = 'yes' or json_extract(i.answers, '$.age_band.value') in ('under_14', '14_17') then 'minor'
    when json_extract(i.answers, '$.minor.value') = 'no' then 'adult' else 'unknown' end,
  exists (select 1 from referrals r where r.intake_id = i.id), count(*)
  from intakes i left join calls c on c.id = i.call_id
  where i.status = 'complete' and i.created_at >= :start and i.created_at < :end group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
select x.value, count(*) from intakes i join json_each(i.answers, '$.exploitation.value') x
  where i.status = 'complete' and i.created_at >= :start and i.created_at < :end
  and json_extract(i.answers, '$.relevance.value') = 'pertinent' group by 1;
-- Mediation by language, fulfilled, and time to the mediator.
select m.language, count(*), sum(exists (select 1 from mediation_events e where e.request_id = m.id and e.state in ('joined', 'called_back')))
  from mediation_requests m where m.requested_at >= :start and m.requested_at < :end group by 1;
select count(*), max(v) from (select min(cast(round((julianday(e.at) - julianday(m.requested_at)) * 86400) as integer)) v
  from mediation_requests m join mediation_events e on e.request_id = m.id and e.state in ('joined', 'called_back')
  where m.requested_at >= :start and m.requested_at < :end group by m.id order by v) x;
-- Referrals by unit, answers, escalations, and time to the answer.
select r.unit_code, count(*), sum(r.state in ('acknowledged', 'closed')), sum(r.state = 'declined'),
  sum(exists (select 1 from deliveries d where d.referral_id = r.id and d.minute > 0))
  from referrals r where r.created_at >= :start and r.created_at < :end group by 1;
select count(*), max(v) from (select cast(round((julianday(r.acknowledged_at) - julianday(r.created_at)) * 86400) as integer) v
  from referrals r where r.created_at >= :start and r.created_at < :end and r.acknowledged_at is not null order by v) x;
