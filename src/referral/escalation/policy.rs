//! Escalation policies per priority, from `[escalation.p1]` … `[escalation.p4]` in the
//! configuration: which channels, how often to repeat, when the unit's backup and the
//! regional coordinator are added, when the board turns red, and whether minutes count
//! on the clock or in working time.

use serde::Deserialize;

use crate::triage::Priority;

/// A channel a referral is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// E-mail over SMTP.
    Email,
    /// SMS through the provider.
    Sms,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The priority of a notification job on this channel: SMS first. An SMS reaches a
    /// phone within seconds and costs the provider one quick request; an e-mail costs a
    /// slower SMTP exchange and is read later, so when many steps fall due at once their
    /// SMS must not wait for their e-mails.
    pub fn priority(self) -> i32 {
        match self {
            Channel::Sms => crate::jobs::PRIORITY_NORMAL + 1,
            Channel::Email => crate::jobs::PRIORITY_NORMAL,
        }
    }
}

/// One priority's policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Channels every step uses.
    pub channels: Vec<Channel>,
    /// Send again to everyone reached so far every this many minutes (0: never).
    #[serde(default)]
    pub repeat_minutes: u32,
    /// Add the unit's backup after this many minutes (absent: never).
    pub backup_after_minutes: Option<u32>,
    /// Add the regional coordinator after this many minutes (absent: never).
    pub coordinator_after_minutes: Option<u32>,
    /// Show a red alert on the operators' board after this many minutes (absent: never).
    pub red_alert_after_minutes: Option<u32>,
    /// Minutes count only in working time (business hours, not on public holidays).
    #[serde(default)]
    pub working_time: bool,
    /// No step after this many minutes (absent: until someone answers).
    #[serde(default)]
    pub stop_after_minutes: Option<u32>,
}

/// `[escalation]`: a policy per priority.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    /// Emergencies.
    pub p1: Policy,
    /// Urgent.
    pub p2: Policy,
    /// Standard.
    pub p3: Policy,
    /// Information only.
    pub p4: Policy,
    /// Mediation requests: a caller may be waiting on the line. "Backup" here means every
    /// mediator of the directory who speaks the language, on call or not.
    pub mediation: Policy,
}

impl EscalationConfig {
    /// The policy of a priority.
    pub fn policy(&self, priority: Priority) -> &Policy {
        match priority {
            Priority::P1 => &self.p1,
            Priority::P2 => &self.p2,
            Priority::P3 => &self.p3,
            Priority::P4 => &self.p4,
        }
    }

    /// Checks every policy; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, p) in [
            ("p1", &self.p1),
            ("p2", &self.p2),
            ("p3", &self.p3),
            ("p4", &self.p4),
            ("mediation", &self.mediation),
        ] {
            if p.channels.is_empty() {
                return Err((
                    format!("escalation.{name}.channels"),
                    "expected at least one of \"email\", \"sms\"".into(),
                ));
            }
            let bounded = [
                ("repeat_minutes", Some(p.repeat_minutes)),
                ("backup_after_minutes", p.backup_after_minutes),
                ("coordinator_after_minutes", p.coordinator_after_minutes),
                ("red_alert_after_minutes", p.red_alert_after_minutes),
                ("stop_after_minutes", p.stop_after_minutes),
            ];
            for (key, value) in bounded {
                if value.is_some_and(|v| v > 525_600) {
                    return Err((
                        format!("escalation.{name}.{key}"),
                        "expected at most 525600 (a year)".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Who a step reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    /// The unit's primary contacts on call.
    pub primary: bool,
    /// Its backups on call.
    pub backup: bool,
    /// The regional coordinator.
    pub coordinator: bool,
}

impl Policy {
    /// Who the step at `minute` (since the referral was sent) reaches.
    pub fn audience(&self, minute: u32) -> Audience {
        Audience {
            primary: true,
            backup: self.backup_after_minutes.is_some_and(|b| minute >= b),
            coordinator: self.coordinator_after_minutes.is_some_and(|c| minute >= c),
        }
    }

    /// The step after the one at `minute`, if the chain goes on: the next repeat, or the
    /// moment the backup or the coordinator joins, whichever comes first.
    pub fn next_step(&self, minute: u32) -> Option<u32> {
        let repeat = (self.repeat_minutes > 0).then(|| minute + self.repeat_minutes);
        let joins = [self.backup_after_minutes, self.coordinator_after_minutes]
            .into_iter()
            .flatten()
            .filter(|m| *m > minute);
        repeat
            .into_iter()
            .chain(joins)
            .min()
            .filter(|next| self.stop_after_minutes.is_none_or(|stop| *next <= stop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p1() -> Policy {
        Policy {
            channels: vec![Channel::Sms, Channel::Email],
            repeat_minutes: 5,
            backup_after_minutes: Some(10),
            coordinator_after_minutes: Some(20),
            red_alert_after_minutes: Some(20),
            working_time: false,
            stop_after_minutes: None,
        }
    }

    #[test]
    fn a_p1_chain_repeats_every_five_minutes_adding_the_backup_then_the_coordinator() {
        let p = p1();
        let mut steps = vec![0];
        while let Some(next) = p.next_step(*steps.last().unwrap()) {
            if next > 30 {
                break;
            }
            steps.push(next);
        }
        assert_eq!(steps, [0, 5, 10, 15, 20, 25, 30]);
        assert!(!p.audience(5).backup);
        assert!(p.audience(10).backup && !p.audience(10).coordinator);
        assert!(p.audience(20).coordinator);
    }

    #[test]
    fn without_repeats_the_chain_ends_after_the_last_escalation() {
        let p = Policy {
            repeat_minutes: 0,
            backup_after_minutes: Some(120),
            coordinator_after_minutes: None,
            ..p1()
        };
        assert_eq!(p.next_step(0), Some(120));
        assert_eq!(p.next_step(120), None);
    }

    #[test]
    fn a_chain_with_an_end_has_no_step_after_it() {
        let p = Policy {
            repeat_minutes: 2,
            stop_after_minutes: Some(6),
            ..p1()
        };
        assert_eq!(p.next_step(4), Some(6));
        assert_eq!(p.next_step(6), None);
    }
}
