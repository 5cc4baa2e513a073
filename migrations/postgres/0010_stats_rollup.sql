-- Statistics kept by day: the figures of each day on the Rome clock and each territory,
-- so that a dashboard for a year adds up a few thousand rows instead of a million calls.
-- Every write that can change a day's figures marks that day; the service recomputes a
-- marked day (all of it, from the records) before it shows or exports it.

-- A day whose figures must be recomputed. Each write adds its own row, committed with
-- the write: a recomputation deletes only the marks it saw, under a lock on the day, so
-- a write it could not see leaves its mark behind. (One row per day, updated in place,
-- would make every call wait on the same row.)
create table stats_marks (
    id bigserial primary key,
    day date not null
);
create index stats_marks_day on stats_marks (day);

-- One day in one territory ('' = not known). `figures` is JSON (counts, and durations
-- as histograms of whole seconds); `repeat_window_days` is the repeat-caller window it
-- was counted with, so that changing the setting recomputes the days.
create table stats_days (
    day date not null,
    territory text not null,
    repeat_window_days integer not null,
    figures text not null,
    built_at timestamptz not null,
    primary key (day, territory)
);

create index referrals_created_at on referrals (created_at);
create index mediation_requests_requested_at on mediation_requests (requested_at);
create index mediation_requests_intake on mediation_requests (intake_id);

create function stats_rome_day(t timestamptz) returns date language sql immutable as $$
    select (t at time zone 'Europe/Rome')::date
$$;

create function stats_mark_call() returns trigger language plpgsql as $$
begin
    -- Only the states the figures tell apart: a call moving through the menu, the
    -- queue and the ringing counts as open all along, and most of its writes are those.
    if tg_op = 'UPDATE' and new.state not in
        ('answered', 'ended', 'abandoned', 'overflowed', 'missed', 'failed') then
        return null;
    end if;
    insert into stats_marks (day) values (stats_rome_day(new.opened_at));
    -- A call placed before calls of the same number already recorded (an entry made
    -- afterwards) also changes whether those are repeat calls.
    if tg_op = 'INSERT' and new.caller_hash is not null then
        insert into stats_marks (day)
            select distinct stats_rome_day(p.opened_at) from calls p
            where p.caller_hash = new.caller_hash and p.opened_at > new.opened_at;
    end if;
    return null;
end $$;
create trigger calls_stats after insert or update on calls
    for each row execute function stats_mark_call();

create function stats_mark_call_outcome() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day)
        select stats_rome_day(c.opened_at) from calls c where c.id = new.call_id;
    return null;
end $$;
create trigger call_outcomes_stats after insert or update on call_outcomes
    for each row execute function stats_mark_call_outcome();

-- An intake: its own day, and the days of its referrals and mediation requests, which
-- are placed in a territory through its answers.
create function stats_mark_intake() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day) values (stats_rome_day(new.created_at));
    if tg_op = 'UPDATE' then
        insert into stats_marks (day)
            select stats_rome_day(r.created_at) from referrals r where r.intake_id = new.id
            union select stats_rome_day(m.requested_at) from mediation_requests m
            where m.intake_id = new.id;
    end if;
    return null;
end $$;
create trigger intakes_stats after insert or update on intakes
    for each row execute function stats_mark_intake();

-- A referral: its own day, and its intake's (whose case now counts as referred).
create function stats_mark_referral() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day) values (stats_rome_day(new.created_at));
    if tg_op = 'INSERT' then
        insert into stats_marks (day)
            select stats_rome_day(i.created_at) from intakes i where i.id = new.intake_id;
    end if;
    return null;
end $$;
create trigger referrals_stats after insert or update on referrals
    for each row execute function stats_mark_referral();

create function stats_mark_delivery() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day)
        select stats_rome_day(r.created_at) from referrals r where r.id = new.referral_id;
    return null;
end $$;
create trigger deliveries_stats after insert on deliveries
    for each row execute function stats_mark_delivery();

create function stats_mark_mediation_request() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day) values (stats_rome_day(new.requested_at));
    return null;
end $$;
create trigger mediation_requests_stats after insert or update on mediation_requests
    for each row execute function stats_mark_mediation_request();

create function stats_mark_mediation_event() returns trigger language plpgsql as $$
begin
    insert into stats_marks (day)
        select stats_rome_day(m.requested_at) from mediation_requests m where m.id = new.request_id;
    return null;
end $$;
create trigger mediation_events_stats after insert on mediation_events
    for each row execute function stats_mark_mediation_event();

-- What was recorded before this migration.
insert into stats_marks (day)
    select stats_rome_day(opened_at) from calls
    union select stats_rome_day(created_at) from intakes
    union select stats_rome_day(created_at) from referrals
    union select stats_rome_day(requested_at) from mediation_requests;
