-- Overflow and callbacks. A night operator's mobile (rung through the trunk when no
-- operator answers: staff data, never a caller's), and the callback task of every missed
-- call whose number was given. The caller's number is kept only there, sealed under a key
-- outside the database, and erased when the task is closed or expires.

alter table users add column mobile text;

create table callbacks (
    id bigint generated always as identity primary key,
    call_id uuid not null unique references calls (id),
    created_at timestamptz not null,
    -- base64(nonce || XChaCha20-Poly1305 ciphertext), the call id as associated data;
    -- null once the task is closed or expired.
    sealed_number text,
    claimed_by bigint references users (id),
    claimed_at timestamptz,
    closed_by bigint references users (id),
    closed_at timestamptz,
    outcome text check (outcome in ('reached', 'no_answer', 'someone_else', 'not_called', 'expired')),
    check ((closed_at is null) = (outcome is null)),
    check (closed_at is null or sealed_number is null)
);
create index callbacks_open on callbacks (created_at) where closed_at is null;
