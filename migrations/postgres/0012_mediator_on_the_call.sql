-- A mediator can be called into a live call: the request rings the mediator's phone
-- through the trunk (`ringing`), the mediator is on the three-way call (`joined`), then
-- leaves it (`left`) when the operator drops them or they hang up.
alter table mediation_requests drop constraint mediation_requests_state_check;
alter table mediation_requests add constraint mediation_requests_state_check
    check (state in ('requested', 'accepted', 'ringing', 'joined', 'left', 'called_back', 'unanswered', 'closed'));
