-- Foundation: users and API tokens, call records and their events, the append-only audit
-- log, durable jobs. Timestamps are UTC, written by the service as RFC 3339 text.
-- No table has a column for a caller's name or number.

create table users (
    id integer primary key,
    username text not null unique,
    role text not null check (role in ('operator', 'supervisor', 'manager', 'admin', 'contact')),
    password_hash text not null,
    must_change_password integer not null default 0,
    active integer not null default 1,
    created_at text not null
);

create table api_tokens (
    id integer primary key,
    user_id integer not null references users (id),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash text not null unique,
    label text not null default '',
    created_at text not null,
    revoked_at text
);

create table calls (
    id text primary key,
    channel text not null check (channel in ('sip', 'cpaas', 'manual')),
    line text,
    -- HMAC-SHA256 of the caller's number (keyed by a secret outside the database);
    -- null when the number was withheld or not given.
    caller_hash text,
    territory_hint text,
    language text,
    state text not null,
    -- Number of events; also the compare-and-set guard for concurrent transitions.
    seq integer not null,
    opened_at text not null,
    opened_by integer references users (id)
);
create index calls_caller_hash on calls (caller_hash, opened_at) where caller_hash is not null;
create index calls_state on calls (state);
create index calls_opened_at on calls (opened_at);

create table call_events (
    call_id text not null references calls (id),
    seq integer not null,
    state text not null,
    at text not null,
    reason text,
    actor_user_id integer references users (id),
    primary key (call_id, seq)
);

-- A call's current state and event count always mirror its last event.
create trigger call_events_move_call after insert on call_events
begin
    update calls set state = new.state, seq = new.seq where id = new.call_id;
end;

create table audit_log (
    id integer primary key,
    at text not null,
    actor_user_id integer references users (id),
    actor text not null,
    action text not null,
    object_kind text not null default '',
    object_id text not null default '',
    address text,
    detail text not null default '{}'
);
create trigger audit_log_no_update before update on audit_log
begin
    select raise(abort, 'audit_log is append-only');
end;
create trigger audit_log_no_delete before delete on audit_log
begin
    select raise(abort, 'audit_log is append-only');
end;

create table jobs (
    id integer primary key,
    kind text not null,
    payload text not null,
    -- A caller-chosen key so the same job is never queued twice (e.g. one per referral step).
    idempotency_key text unique,
    state text not null default 'pending' check (state in ('pending', 'running', 'done', 'failed')),
    run_at text not null,
    attempts integer not null default 0,
    max_attempts integer not null,
    locked_by text,
    locked_until text,
    last_error text,
    created_at text not null,
    finished_at text
);
create index jobs_due on jobs (state, run_at);

-- Effects of the queue self-test job: one row each time such a job ran to completion.
create table job_selftest_runs (
    job_id integer not null references jobs (id),
    node text not null,
    ran_at text not null
);
