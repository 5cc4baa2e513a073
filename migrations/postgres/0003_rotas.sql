-- On-call rotas: weekly recurring shifts on the Europe/Rome wall clock and one-off
-- overrides over absolute UTC intervals, per target (`unit:<code>`, `coordinator`,
-- `night_operators`, `mediators:<language>`). People are directory codes or user ids.

create table rota_shifts (
    id bigint generated always as identity primary key,
    target text not null,
    -- ISO weekday the shift starts on: 1 = Monday … 7 = Sunday.
    weekday bigint not null check (weekday between 1 and 7),
    -- Local minutes after midnight; an end at or before the start is on the next day
    -- (0–0 is a whole day).
    start_minute bigint not null check (start_minute between 0 and 1439),
    end_minute bigint not null check (end_minute between 0 and 1439),
    person_kind text not null check (person_kind in ('contact', 'mediator', 'coordinator', 'user')),
    -- Directory code, user id, or '' for the coordinator.
    person_ref text not null,
    role text not null check (role in ('primary', 'backup')),
    created_at timestamptz not null,
    created_by bigint references users (id)
);
-- The same person twice in the same slot is a mistake (and lets seeding be retried).
create unique index rota_shifts_slot on rota_shifts
    (target, weekday, start_minute, end_minute, person_kind, person_ref, role);

create table rota_overrides (
    id bigint generated always as identity primary key,
    target text not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    person_kind text not null check (person_kind in ('contact', 'mediator', 'coordinator', 'user')),
    person_ref text not null,
    role text not null check (role in ('primary', 'backup')),
    -- replace: stands in for the weekly shifts of its role; add: joins them.
    mode text not null check (mode in ('replace', 'add')),
    created_at timestamptz not null,
    created_by bigint references users (id),
    check (ends_at > starts_at)
);
-- "Who is on call at T" skips the overrides already over, most of them.
create index rota_overrides_target_end on rota_overrides (target, ends_at);

-- Targets once given a default rota from the directory: never seeded again, so a rota
-- emptied on purpose stays empty.
create table rota_seeded (
    target text primary key,
    seeded_at timestamptz not null
);
