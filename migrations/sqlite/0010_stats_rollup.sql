-- Statistics kept by day: the figures of each day on the Rome clock and each territory,
-- so that a dashboard for a year adds up a few thousand rows instead of a million calls.
-- Every write that can change a day's figures marks that day; the service recomputes a
-- marked day (all of it, from the records) before it shows or exports it.

-- How many writes touched each day, and how many of them the stored figures include:
-- a day is stale while `stats_marks.changes` is ahead of `stats_counted.changes`. A
-- recomputation reads the count and the records in one snapshot, without holding the
-- write lock while it counts (calls keep being written meanwhile), then stores its
-- figures only if nobody stored figures of a later count first.
create table stats_marks (
    day text primary key,
    changes integer not null
) without rowid;
create table stats_counted (
    day text primary key,
    changes integer not null,
    repeat_window_days integer not null
) without rowid;

-- The triggers below name the days they touch by inserting them here; this trigger
-- counts the touch and drops the row, so the table stays empty.
create table stats_touch (day text);
create trigger stats_touch_count before insert on stats_touch
begin
    insert into stats_marks (day, changes) values (new.day, 1)
        on conflict (day) do update set changes = changes + 1;
    select raise(ignore);
end;

-- One day in one territory ('' = not known). `figures` is JSON (counts, and durations
-- as histograms of whole seconds); `repeat_window_days` is the repeat-caller window it
-- was counted with, so that changing the setting recomputes the days.
create table stats_days (
    day text not null,
    territory text not null,
    repeat_window_days integer not null,
    figures text not null,
    built_at text not null,
    primary key (day, territory)
);

create index referrals_created_at on referrals (created_at);
create index mediation_requests_requested_at on mediation_requests (requested_at);
create index mediation_requests_intake on mediation_requests (intake_id);

-- Times are stored in UTC; Rome is UTC+1 in winter and UTC+2 in summer, so an instant's
-- Rome day is its date an hour or two hours later: both are marked (the same day but
-- between 22:00 and 23:00 UTC). A needless recomputation costs little, a missed one
-- would show wrong figures.

-- A call: its own day; a call placed before calls of the same number already recorded
-- (an entry made afterwards) also changes whether those are repeat calls.
create trigger calls_stats_insert after insert on calls
begin
    insert into stats_touch (day) select date(new.opened_at, '+1 hour') union select date(new.opened_at, '+2 hours');
    insert into stats_touch (day)
        select date(p.opened_at, '+1 hour') from calls p
        where new.caller_hash is not null and p.caller_hash = new.caller_hash and p.opened_at > new.opened_at
        union select date(p.opened_at, '+2 hours') from calls p
        where new.caller_hash is not null and p.caller_hash = new.caller_hash and p.opened_at > new.opened_at;
end;
-- Only the states the figures tell apart: a call moving through the menu, the queue
-- and the ringing counts as open all along, and most of its writes are those.
create trigger calls_stats_update after update of state on calls
when new.state in ('answered', 'ended', 'abandoned', 'overflowed', 'missed', 'failed')
begin
    insert into stats_touch (day) select date(new.opened_at, '+1 hour') union select date(new.opened_at, '+2 hours');
end;

create trigger call_outcomes_stats_insert after insert on call_outcomes
begin
    insert into stats_touch (day)
        select date(c.opened_at, '+1 hour') from calls c where c.id = new.call_id
        union select date(c.opened_at, '+2 hours') from calls c where c.id = new.call_id;
end;
create trigger call_outcomes_stats_update after update on call_outcomes
begin
    insert into stats_touch (day)
        select date(c.opened_at, '+1 hour') from calls c where c.id = new.call_id
        union select date(c.opened_at, '+2 hours') from calls c where c.id = new.call_id;
end;

-- An intake: its own day, and the days of its referrals and mediation requests, which
-- are placed in a territory through its answers.
create trigger intakes_stats_insert after insert on intakes
begin
    insert into stats_touch (day) select date(new.created_at, '+1 hour') union select date(new.created_at, '+2 hours');
end;
create trigger intakes_stats_update after update on intakes
begin
    insert into stats_touch (day) select date(new.created_at, '+1 hour') union select date(new.created_at, '+2 hours');
    insert into stats_touch (day)
        select date(r.created_at, '+1 hour') from referrals r where r.intake_id = new.id
        union select date(r.created_at, '+2 hours') from referrals r where r.intake_id = new.id
        union select date(m.requested_at, '+1 hour') from mediation_requests m where m.intake_id = new.id
        union select date(m.requested_at, '+2 hours') from mediation_requests m where m.intake_id = new.id;
end;

-- A referral: its own day, and its intake's (whose case now counts as referred).
create trigger referrals_stats_insert after insert on referrals
begin
    insert into stats_touch (day) select date(new.created_at, '+1 hour') union select date(new.created_at, '+2 hours');
    insert into stats_touch (day)
        select date(i.created_at, '+1 hour') from intakes i where i.id = new.intake_id
        union select date(i.created_at, '+2 hours') from intakes i where i.id = new.intake_id;
end;
create trigger referrals_stats_update after update on referrals
begin
    insert into stats_touch (day) select date(new.created_at, '+1 hour') union select date(new.created_at, '+2 hours');
end;
create trigger deliveries_stats_insert after insert on deliveries
begin
    insert into stats_touch (day)
        select date(r.created_at, '+1 hour') from referrals r where r.id = new.referral_id
        union select date(r.created_at, '+2 hours') from referrals r where r.id = new.referral_id;
end;

create trigger mediation_requests_stats_insert after insert on mediation_requests
begin
    insert into stats_touch (day) select date(new.requested_at, '+1 hour') union select date(new.requested_at, '+2 hours');
end;
create trigger mediation_requests_stats_update after update on mediation_requests
begin
    insert into stats_touch (day) select date(new.requested_at, '+1 hour') union select date(new.requested_at, '+2 hours');
end;
create trigger mediation_events_stats_insert after insert on mediation_events
begin
    insert into stats_touch (day)
        select date(m.requested_at, '+1 hour') from mediation_requests m where m.id = new.request_id
        union select date(m.requested_at, '+2 hours') from mediation_requests m where m.id = new.request_id;
end;

-- What was recorded before this migration.
insert into stats_touch (day)
    select date(opened_at, '+1 hour') from calls union select date(opened_at, '+2 hours') from calls
    union select date(created_at, '+1 hour') from intakes union select date(created_at, '+2 hours') from intakes
    union select date(created_at, '+1 hour') from referrals union select date(created_at, '+2 hours') from referrals
    union select date(requested_at, '+1 hour') from mediation_requests
    union select date(requested_at, '+2 hours') from mediation_requests;
