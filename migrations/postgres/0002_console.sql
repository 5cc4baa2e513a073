-- The operators' console: browser sessions, sign-in attempts (for throttling), operators'
-- status for routing, pseudonymous subjects, intakes with their triage, mediation
-- requests and call outcomes. Still no column for a caller's name or number.

-- A territorial contact belongs to one unit (the directory's unit code).
alter table users add column unit_code text;

create table sessions (
    id bigint generated always as identity primary key,
    -- SHA-256 of the cookie's value; the value itself is only in the browser.
    token_hash text not null unique,
    user_id bigint not null references users (id),
    csrf_token text not null,
    address text not null,
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    expires_at timestamptz not null
);
create index sessions_user on sessions (user_id);

create table login_attempts (
    id bigint generated always as identity primary key,
    username text not null,
    address text not null,
    at timestamptz not null,
    succeeded boolean not null
);
create index login_attempts_key on login_attempts (username, address, at);

create table operator_status (
    user_id bigint primary key references users (id),
    status text not null check (status in ('available', 'busy', 'away', 'wrap_up')),
    since timestamptz not null
);

create table subjects (
    id bigint generated always as identity primary key,
    -- Pseudonymous code, e.g. TOS-2026-00042.
    code text not null unique,
    created_at timestamptz not null,
    created_by bigint references users (id),
    -- Set when a supervisor merged this subject into another.
    merged_into bigint references subjects (id)
);

create table intakes (
    id bigint generated always as identity primary key,
    -- The call the intake is about; null for a walk-in, an e-mail or a callback.
    call_id uuid references calls (id),
    source text not null check (source in ('call', 'walk_in', 'email', 'callback')),
    subject_id bigint references subjects (id),
    -- The questionnaire's answers as JSON (checked against identifying data).
    answers text not null,
    status text not null check (status in ('draft', 'complete')),
    -- The triage computed from the answers, as JSON, and its priority.
    triage text,
    priority text check (priority in ('P1', 'P2', 'P3', 'P4')),
    -- An operator's override of the computed priority, with the reason.
    priority_override text check (priority_override in ('P1', 'P2', 'P3', 'P4')),
    override_reason text,
    created_by bigint not null references users (id),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- Optimistic lock: a save names the version it edited.
    version bigint not null default 1
);
-- One intake per call (several NULLs are allowed: intakes without a call).
create unique index intakes_call on intakes (call_id);
create index intakes_subject on intakes (subject_id);
create index intakes_created_at on intakes (created_at);

create table mediation_requests (
    id bigint generated always as identity primary key,
    call_id uuid references calls (id),
    intake_id bigint references intakes (id),
    language text not null,
    -- The directory's mediator code, once one is chosen.
    mediator_code text,
    state text not null check (state in ('requested', 'accepted', 'joined', 'called_back', 'unanswered', 'closed')),
    requested_by bigint not null references users (id),
    requested_at timestamptz not null,
    updated_at timestamptz not null
);
create index mediation_requests_state on mediation_requests (state);

create table mediation_events (
    request_id bigint not null references mediation_requests (id),
    seq bigint not null,
    state text not null,
    mediator_code text,
    at timestamptz not null,
    actor_user_id bigint references users (id),
    primary key (request_id, seq)
);

create table call_outcomes (
    call_id uuid primary key references calls (id),
    outcome text not null,
    closed_by bigint not null references users (id),
    closed_at timestamptz not null,
    -- Seconds from the call's end to its closing: the operator's wrap-up time.
    wrap_up_seconds bigint
);
