-- Referrals to territorial units: what is sent (no caller's number, no name: the
-- subject's code, the priority, exploitation types, needs, language), why that unit,
-- where it stands, and the single-use acknowledgement links.

create table referrals (
    id bigint generated always as identity primary key,
    intake_id bigint not null references intakes (id),
    subject_id bigint references subjects (id),
    unit_code text not null,
    priority text not null check (priority in ('P1', 'P2', 'P3', 'P4')),
    -- Why this unit (shown to the operator, kept for the record), in Italian and English.
    routing_reason_it text not null,
    routing_reason_en text not null,
    -- JSON arrays of codes.
    exploitation text not null default '[]',
    services text not null default '[]',
    language text,
    mediator_language text,
    -- The operator's message to the unit, checked for identifying data.
    message text not null default '',
    state text not null check (state in ('sent', 'acknowledged', 'declined', 'closed')),
    created_by bigint not null references users (id),
    created_at timestamptz not null,
    acknowledged_at timestamptz,
    -- Who acknowledged: a directory contact code or `user:NAME`, and how.
    acknowledged_by text,
    ack_channel text check (ack_channel in ('link', 'sms', 'console')),
    ack_note text,
    outcome text,
    outcome_at timestamptz
);
create index referrals_unit on referrals (unit_code, created_at);
create index referrals_intake on referrals (intake_id);
create index referrals_state on referrals (state);

create table referral_links (
    id bigint generated always as identity primary key,
    referral_id bigint not null references referrals (id),
    -- SHA-256 of the link's token; the token itself is only in the message sent.
    token_hash text not null unique,
    contact_code text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);
create index referral_links_referral on referral_links (referral_id);
