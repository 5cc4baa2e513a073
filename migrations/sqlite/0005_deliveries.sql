-- Every notification handed to a transport for a referral: to whom (a directory code,
-- never an address or a number), on which channel, at which step of the escalation,
-- and what the transport answered. Supervisors see the failures.

create table deliveries (
    id integer primary key,
    referral_id integer not null references referrals (id),
    minute integer not null,
    person text not null,
    channel text not null check (channel in ('email', 'sms')),
    status text not null,
    provider_id text,
    at text not null,
    unique (referral_id, minute, person, channel)
);
create index deliveries_provider on deliveries (provider_id);
