-- A mediator can be called into a live call: the request rings the mediator's phone
-- through the trunk (`ringing`), the mediator is on the three-way call (`joined`), then
-- leaves it (`left`) when the operator drops them or they hang up.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt: new table,
-- rows copied, old table dropped, new one renamed. Foreign keys stay on (the pragma
-- cannot change inside the migration's transaction), so the one table that points at
-- it, mediation_events, is set aside first and made again afterwards; the triggers
-- that name either table are dropped (a rename checks every trigger of the schema) and
-- made again as they were.
drop trigger intakes_stats_update;
drop trigger mediation_events_stats_insert;

create table mediation_events_copy as select * from mediation_events;
drop table mediation_events;

create table mediation_requests_new (
    id integer primary key,
    call_id text references calls (id),
    intake_id integer references intakes (id),
    language text not null,
    -- The directory's mediator code, once one is chosen.
    mediator_code text,
    state text not null check (state in ('requested', 'accepted', 'ringing', 'joined', 'left', 'called_back', 'unanswered', 'closed')),
    requested_by integer not null references users (id),
    requested_at text not null,
    updated_at text not null
);
insert into mediation_requests_new (id, call_id, intake_id, language, mediator_code, state, requested_by, requested_at, updated_at)
    select id, call_id, intake_id, language, mediator_code, state, requested_by, requested_at, updated_at
    from mediation_requests;
drop table mediation_requests;
alter table mediation_requests_new rename to mediation_requests;

create table mediation_events (
    request_id integer not null references mediation_requests (id),
    seq integer not null,
    state text not null,
    mediator_code text,
    at text not null,
    actor_user_id integer references users (id),
    primary key (request_id, seq)
);
insert into mediation_events (request_id, seq, state, mediator_code, at, actor_user_id)
    select request_id, seq, state, mediator_code, at, actor_user_id from mediation_events_copy;
drop table mediation_events_copy;

create index mediation_requests_state on mediation_requests (state);
create index mediation_requests_requested_at on mediation_requests (requested_at);
create index mediation_requests_intake on mediation_requests (intake_id);

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
create trigger intakes_stats_update after update on intakes
begin
    insert into stats_touch (day) select date(new.created_at, '+1 hour') union select date(new.created_at, '+2 hours');
    insert into stats_touch (day)
        select date(r.created_at, '+1 hour') from referrals r where r.intake_id = new.id
        union select date(r.created_at, '+2 hours') from referrals r where r.intake_id = new.id
        union select date(m.requested_at, '+1 hour') from mediation_requests m where m.intake_id = new.id
        union select date(m.requested_at, '+2 hours') from mediation_requests m where m.intake_id = new.id;
end;
