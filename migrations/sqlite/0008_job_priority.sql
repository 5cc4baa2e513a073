-- Among jobs due at the same time, higher priority is claimed first: when many
-- escalation steps fall due at once, their SMS must not queue behind their e-mails.
alter table jobs add column priority integer not null default 0;
