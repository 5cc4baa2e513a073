-- Operators' SIP phones: the digest HA1 of each operator's phone password (never the
-- password) for the realm it was set in, and the registrations (bindings) of their
-- devices, several per operator, each until it expires.

alter table users add column sip_realm text;
alter table users add column sip_ha1_md5 text;
alter table users add column sip_ha1_sha256 text;

create table sip_bindings (
    user_id bigint not null references users (id),
    -- The Contact URI the phone registered.
    contact text not null,
    -- Where the REGISTER came from (transport:address:port): calls go there, through NAT.
    source text not null,
    call_id text not null,
    cseq bigint not null,
    expires_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (user_id, contact)
);
create index sip_bindings_expiry on sip_bindings (expires_at);
