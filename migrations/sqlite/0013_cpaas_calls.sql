-- Calls on numbers hosted at a cloud telephony provider: the provider's CallSid names
-- the call in every webhook, so it maps to the call record here. A webhook posted again
-- (the provider retries) finds the call already known and records nothing twice.
create table cpaas_calls (
    call_sid text primary key,
    call_id text not null references calls (id),
    created_at text not null
);
create index cpaas_calls_call on cpaas_calls (call_id);
