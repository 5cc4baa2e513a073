\set n random(1, 1000000000000)
insert into calls (id, channel, line, caller_hash, territory_hint, language, state, seq, opened_at, opened_by) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 'manual', '800186086', 'abc', 'FI', null, 'offered', 1, now(), null);
insert into call_events (call_id, seq, state, at) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 2, 'menu', now());
insert into call_events (call_id, seq, state, at) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 3, 'queued', now());
insert into call_events (call_id, seq, state, at) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 4, 'ringing', now());
insert into call_events (call_id, seq, state, at) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 5, 'answered', now());
insert into call_events (call_id, seq, state, at) values (lpad(to_hex(:n::bigint),32,'0')::uuid, 6, 'ended', now());
