-- The languages an operator speaks, as a JSON array of the voice menu's language codes:
-- a caller who chose one in the menu is offered first to the operators who speak it.
-- Everyone speaks Italian until an admin says otherwise.

alter table users add column languages text not null default '["it"]';
